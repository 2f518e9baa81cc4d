"""One house style: `ruff check` (configured in pyproject.toml) passes on the whole repository."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def ruff() -> list[str]:
    """ruff from this environment (a dev extra), else from PATH."""
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.exists() else shutil.which("ruff")
    assert found, "ruff is not installed: install the dev extras (pip install -e '.[dev]')"
    return [found]


def test_ruff_check_passes():
    done = subprocess.run([*ruff(), "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_covers_every_python_folder():
    """The configuration must not silently skip a folder: each listed one has files ruff checks."""
    done = subprocess.run([*ruff(), "check", "--no-cache", "--show-files", "."], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    checked = {Path(line.strip()).resolve().relative_to(REPO).parts[0] for line in done.stdout.splitlines()
               if line.strip().endswith(".py")}
    assert {"dsla", "pipeline", "benchmarks", "tests", "experiments", "tools", "scripts"} <= checked
