"""`pipeline status` and `pipeline run --dry-run` print the same lines in the same order in every
process: no order comes from iterating a set of strings, whose order follows PYTHONHASHSEED
(before, two clones of one commit listed the same keys in different orders)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(cwd: Path, seed: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd),
                                            "PYTHONHASHSEED": seed})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", [("run", "reproduce-tables", "--profile", "smoke", "--dry-run"),
                                     ("status", "--profile", "tiny")])
def test_the_same_order_under_two_hash_seeds(tmp_path, command):
    outputs = {cli(tmp_path, seed, *command) for seed in ("1", "2", "3")}
    assert len(outputs) == 1, "the order changed with PYTHONHASHSEED"
    assert len(outputs.pop().splitlines()) > 20
