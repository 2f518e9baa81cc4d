"""The one-node Slurm cluster of scripts/slurm.sh, for the tests that launch through `srun`."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cluster_unavailable(reason: str) -> None:
    """Skip on a developer's machine without Slurm; fail in CI, whose .ci/run starts it."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_partition() -> str:
    """The partition of the local cluster of scripts/slurm.sh (started here if it is not running)."""
    if shutil.which("srun") is None and not os.environ.get("CI"):
        pytest.skip("Slurm is not installed (scripts/slurm.sh installs and starts a one-node cluster)")
    try:
        done = subprocess.run(["bash", str(REPO / "scripts" / "slurm.sh"), "--start-only"],
                              capture_output=True, text=True, timeout=180, check=False)
    except subprocess.TimeoutExpired:
        _cluster_unavailable("scripts/slurm.sh --start-only: the Slurm cluster did not start within 180 s")
    if done.returncode != 0:
        _cluster_unavailable(f"scripts/slurm.sh --start-only could not start Slurm (exit {done.returncode}): "
                             f"{done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]
