"""The one-node Slurm cluster of scripts/slurm.sh, for the tests that launch through `srun`."""
from __future__ import annotations

import os
import shutil

import pytest
import services  # tests/services.py


@pytest.fixture(scope="session")
def slurm_partition() -> str:
    """The partition of the local cluster of scripts/slurm.sh (started here if it is not running)."""
    if shutil.which("srun") is None and not os.environ.get("CI"):
        pytest.skip("Slurm is not installed (scripts/slurm.sh installs and starts a one-node cluster)")
    return services.start("slurm.sh", "the Slurm cluster", timeout=180)
