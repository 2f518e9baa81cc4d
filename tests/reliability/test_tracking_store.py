"""Tracking-store problems are one line within 10 s; a fresh store is safe to create concurrently."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from pipeline import cli
from pipeline.digest import REPO_ROOT


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("make, named", [
    (lambda path: path.mkdir(), "is a folder"),
    (lambda path: path.write_bytes(b"these are not the tables you are looking for" * 10), "not a SQLite database"),
])
def test_an_unusable_sqlite_path_is_one_line_within_10_seconds(tmp_path, monkeypatch, capsys, make, named):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mlflow.db"
    make(path)
    started = time.monotonic()
    code = cli.main(["run", "table1", "--profile", "smoke", "--tracking-uri", f"sqlite:///{path}"])
    seconds = time.monotonic() - started
    assert code == 2 and named in one_line(capsys)
    assert seconds < 10, f"took {seconds:.0f} s"


RACE = """
import sys, time
from pathlib import Path
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
from pipeline.tracking import check_reachable
check_reachable(sys.argv[1])
"""


@pytest.mark.slow
def test_processes_creating_a_fresh_mlflow_store_at_once_all_succeed(tmp_path):
    """Without the creation lock, three processes migrating one fresh mlflow.db collide in
    alembic (`CommandError: Online migration expected to match one row`)."""
    uri, go = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", RACE, uri, str(go)], cwd=tmp_path,
                                  env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    time.sleep(8)  # every process has imported Python and waits for the start signal
    go.touch()
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], "\n".join(e[-800:] for e in errors)
