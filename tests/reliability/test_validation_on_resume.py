"""`kill -9` between epoch 1's checkpoint and its validation, then run again: epoch 1 is validated
from its checkpoint before training goes on, so the recorded curve has every epoch.

The window is made deterministic by `PauseBeforeValidationHook` (tests/reliability/pause_hook.py),
passed as a watch-only training hook (`settings["train_hooks"]`, not part of the key): it writes a
marker when epoch 1's validation is about to start and sleeps there until the test kills it.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import tables as defs
from pipeline import cli, engine
from pipeline.digest import REPO_ROOT
from pipeline.engine.store import DONE, ResultStore
from pipeline.graph import Pipeline
from pipeline.tracking import Tracker

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent

TRAIN_WITH_PAUSE = """
import pickle, sys
sys.path.insert(0, sys.argv[3])
import pause_hook  # registers PauseBeforeValidationHook
from pipeline import engine
from pipeline.engine.store import ResultStore
from pipeline.tracking import Tracker
node = pickle.load(open(sys.argv[2], "rb"))
hook = dict(type="PauseBeforeValidationHook", epoch=1, marker="paused")
engine.run([node], ResultStore(".pipeline"), tracker=Tracker(sys.argv[1], "smoke", commit="test"),
           settings={"progress": False, "threads": 1, "train_hooks": [hook]})
"""


def test_kill_between_checkpoint_and_validation_then_resume_keeps_every_epoch(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    node = Pipeline("smoke").train(defs.Train("crowdhuman", "dsla_fs"))
    work_dir = tmp_path / "work_dirs" / node.key
    (tmp_path / "node.pkl").write_bytes(pickle.dumps(node))
    process = subprocess.Popen([sys.executable, "-c", TRAIN_WITH_PAUSE, uri, "node.pkl", str(HERE)],
                               cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while not (tmp_path / "paused").exists():
            assert process.poll() is None, f"training ended before the pause: {process.stderr.read()[-2000:]}"
            assert time.time() < deadline, "timed out waiting for epoch 1's validation"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (work_dir / "epoch_1.pth").exists() and not (work_dir / "epoch_2.pth").exists()
    assert not (work_dir / "epochs.jsonl").exists() or not (work_dir / "epochs.jsonl").read_text().strip()

    capsys.readouterr()
    assert cli.main(["status", "table2", "--profile", "smoke"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if node.key in line]
    assert line.startswith("resumable (epoch 1 of 2)"), line

    tracker = Tracker(uri, "smoke", commit="test")
    resumed = engine.run([node], ResultStore(".pipeline"), tracker=tracker,
                         settings={"progress": False, "threads": 1})
    outcome = resumed.outcomes[node.key]
    assert outcome.status == DONE, outcome.error
    assert [record["epoch"] for record in outcome.result["epochs"]] == [1, 2]
    [second_log] = [p.read_text() for p in work_dir.glob("*/*.log") if "resumed epoch: 1" in p.read_text()]
    assert "Epoch(train) [1][" not in second_log, "epoch 1 is validated, not trained again"

    [run] = [r for r in tracker.client.search_runs([tracker.experiment_id("crowdhuman")])
             if r.data.tags.get("dsla.key") == node.key and r.info.status == "FINISHED"]
    history = tracker.client.get_metric_history(run.info.run_id, "val/AP")
    assert sorted(m.step for m in history) == [1, 2]
