"""Ctrl-C stops a run however a library wraps it; a busy stage is waited for; a damaged record is
replaced. Engine-level, with the tiny stages of reliability_stages.py."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_stages import HELD, INTERRUPTED, NUMBER, calls

from pipeline import cli, engine
from pipeline.engine import Node
from pipeline.engine.store import DONE, MISSING, ResultStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "calls.log"
    monkeypatch.setenv("RELIABILITY_STAGE_LOG", str(path))
    return path


def test_ctrl_c_re_raised_by_a_library_stops_the_run_and_records_no_failure(tmp_path, log):
    store = ResultStore(tmp_path / "store")
    interrupted = Node("interrupted", INTERRUPTED)
    independent = [Node(f"later{i}", NUMBER, {"value": i}) for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        engine.run([interrupted, *independent], store, work_root=tmp_path / "work")
    assert store.load(interrupted.key).status == MISSING, "an interrupt is not a failure"
    assert not store.running_path(interrupted.key).exists()
    ran = calls(log)
    assert ran[-1] == "interrupted", f"a stage started after the interrupt: {ran}"


def test_pipeline_run_exits_130_with_one_line_on_ctrl_c(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def interrupted_run(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run", interrupted_run)
    monkeypatch.setattr("pipeline.tracking.tracker.check_reachable", lambda uri, timeout=5.0: None)
    monkeypatch.setattr("pipeline.tracking.check_reachable", lambda uri, timeout=5.0: None)
    try:
        code = cli.main(["run", "table1", "--profile", "smoke", "--no-progress",
                         "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped `pipeline run` (a traceback, not exit 130)")
    err = capsys.readouterr().err
    assert code == 130
    assert err.strip().count("\n") == 0 and "interrupted" in err and "Traceback" not in err


def test_a_result_json_that_is_a_folder_is_replaced_not_a_crash(tmp_path, log):
    store = ResultStore(tmp_path / "store")
    node = Node("n", NUMBER, {"value": 3})
    store.result_path(node.key).mkdir(parents=True)
    (store.result_path(node.key) / "junk").write_text("x")
    report = engine.run([node], store, work_root=tmp_path / "work")
    assert report.outcomes[node.key].status == DONE
    assert store.load(node.key).result == {"value": 3}


HOLD = """
import pickle, sys
sys.path.insert(0, sys.argv[2])
from pipeline import engine
from pipeline.engine.store import ResultStore
node = pickle.load(open(sys.argv[1], "rb"))

def listener(event, node, outcome):
    if event == "wait":
        print(outcome.error, file=sys.stderr, flush=True)

report = engine.run([node], ResultStore("store"), work_root="work", listener=listener)
print(report.outcomes[node.key].status, flush=True)
sys.exit(0 if report.ok else 1)
"""


def test_a_process_that_finds_a_stage_busy_waits_for_it_and_says_so(tmp_path, log):
    node = Node("held", HELD, {"folder": str(tmp_path)})
    (tmp_path / "node.pkl").write_bytes(pickle.dumps(node))
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def start():
        return subprocess.Popen([sys.executable, "-c", HOLD, "node.pkl", str(HERE)], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start()
    second = None
    try:
        deadline = time.time() + 60
        while not (tmp_path / "started").exists():
            assert first.poll() is None and time.time() < deadline, first.communicate()[1][-2000:]
            time.sleep(0.05)
        second = start()
        line = second.stderr.readline()  # blocks until the second process reports its wait
        assert line.strip() == f"waiting for held, held by pid {first.pid}", line
        assert second.poll() is None, "the second process must wait, not give up"
        (tmp_path / "release").touch()
        first_out, first_err = first.communicate(timeout=60)
        second_out, second_err = second.communicate(timeout=60)
    finally:
        (tmp_path / "release").touch()
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert (first.returncode, first_out.strip()) == (0, "done"), first_err[-2000:]
    assert (second.returncode, second_out.strip()) == (0, "cached"), second_err[-2000:]
    assert calls(log) == ["held"], "the stage ran once"
