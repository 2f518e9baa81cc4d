"""SIGTERM (what `kill` and Slurm send) to a run stops its worker processes too — none is left
orphaned finishing its training — records nothing as failed, and `pipeline run` says so in one line."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_stages import HELD

from pipeline import cli, engine
from pipeline.engine import Node, interrupts
from pipeline.engine.store import MISSING, ResultStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

RUN = """
import pickle, sys
sys.path.insert(0, sys.argv[2])
from pipeline import engine
from pipeline.engine import interrupts
from pipeline.engine.store import ResultStore
if __name__ == "__main__":
    interrupts.install_sigterm()
    nodes = pickle.load(open(sys.argv[1], "rb"))
    try:
        engine.run(nodes, ResultStore("store"), work_root="work", jobs=2)
    except KeyboardInterrupt:
        print("interrupted by", interrupts.last_signal(), flush=True)
        sys.exit(143)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_a_parallel_run_stops_its_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("RELIABILITY_STAGE_LOG", str(tmp_path / "calls.log"))
    folders = [tmp_path / "a", tmp_path / "b"]
    nodes = []
    for folder in folders:
        folder.mkdir()
        nodes.append(Node(f"held-{folder.name}", HELD, {"folder": str(folder)}))
    (tmp_path / "nodes.pkl").write_bytes(pickle.dumps(nodes))
    (tmp_path / "run.py").write_text(RUN)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    parent = subprocess.Popen([sys.executable, "run.py", "nodes.pkl", str(HERE)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while not all((folder / "started").exists() for folder in folders):
            assert parent.poll() is None and time.time() < deadline, parent.communicate()[1][-2000:]
            time.sleep(0.1)
        workers = [int((folder / "started").read_text()) for folder in folders]
        parent.send_signal(signal.SIGTERM)
        out, err = parent.communicate(timeout=60)
        deadline = time.time() + 20
        while any(_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "worker processes outlived the run (orphaned)"
    finally:
        for folder in folders:
            (folder / "release").touch()
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 143 and out.strip() == "interrupted by SIGTERM", (out, err[-2000:])
    store = ResultStore(tmp_path / "store")
    assert all(store.load(node.key).status == MISSING for node in nodes), "a terminated stage is not a failure"


def test_pipeline_run_exits_143_with_one_line_on_sigterm(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def terminated_run(*args, **kwargs):
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, "pipeline run must handle SIGTERM"
        monkeypatch.setattr(interrupts, "_signal_name", "SIGTERM")
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run", terminated_run)
    monkeypatch.setattr("pipeline.tracking.check_reachable", lambda uri, timeout=5.0: None)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        code = cli.main(["run", "table1", "--profile", "smoke", "--no-progress",
                         "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped `pipeline run`")
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert code == 143
    assert err.strip().count("\n") == 0 and "SIGTERM" in err and "Traceback" not in err
