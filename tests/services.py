"""Starting the local services the project's scripts install (PostgreSQL, a one-node Slurm) from a
fixture: on a developer's machine without them the test is skipped, in CI (whose .ci/run starts
them) it fails."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where the service must be there."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def start(script: str, what: str, timeout: int) -> str:
    """`bash scripts/<script> --start-only` (idempotent: starts the service if it is not running);
    the last line it prints (the service's URL or name)."""
    try:
        done = subprocess.run(["bash", str(REPO / "scripts" / script), "--start-only"],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        unavailable(f"scripts/{script} --start-only: {what} did not start within {timeout} s")
    if done.returncode != 0:
        unavailable(f"scripts/{script} --start-only could not start {what} (exit {done.returncode}): "
                    f"{done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]
