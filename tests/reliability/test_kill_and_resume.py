"""`kill -9` during a real training stage (smoke profile), then run again: the training resumes
from its last checkpoint, no epoch is trained twice, the result equals an uninterrupted run with
the same seed, and no MLflow run is left RUNNING."""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time

import pytest

from experiments import tables as defs
from pipeline import engine
from pipeline.digest import REPO_ROOT
from pipeline.engine.store import DONE, MISSING, ResultStore
from pipeline.graph import Pipeline
from pipeline.tracking import Tracker

pytestmark = pytest.mark.slow

# The node is handed over pickled: keys hash the sources, which may change between two processes.
TRAIN_ONE_RUN = """
import pickle, sys
from pipeline import engine
from pipeline.engine.store import ResultStore
from pipeline.tracking import Tracker
node = pickle.load(open(sys.argv[2], "rb"))
engine.run([node], ResultStore(".pipeline"), tracker=Tracker(sys.argv[1], "smoke", commit="test"),
           settings={"progress": False, "threads": 1})
"""


def train_node():
    return Pipeline("smoke").train(defs.Train("crowdhuman", "dsla_fs"))


def test_kill_9_mid_training_then_run_again_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    node = train_node()
    work_dir = tmp_path / "work_dirs" / node.key
    epochs_file = work_dir / "epochs.jsonl"
    (tmp_path / "node.pkl").write_bytes(pickle.dumps(node))
    process = subprocess.Popen([sys.executable, "-c", TRAIN_ONE_RUN, uri, "node.pkl"], cwd=tmp_path,
                               env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while not (epochs_file.exists() and epochs_file.read_text().strip()):
            assert process.poll() is None, f"training ended before epoch 1: {process.stderr.read()[-2000:]}"
            assert time.time() < deadline, "timed out waiting for epoch 1"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not (work_dir / "epoch_2.pth").exists(), "killed too late: epoch 2 already finished"
    store = ResultStore(".pipeline")
    assert store.load(node.key).status == MISSING

    tracker = Tracker(uri, "smoke", commit="test")
    resumed = engine.run([node], store, tracker=tracker, settings={"progress": False, "threads": 1})
    outcome = resumed.outcomes[node.key]
    assert outcome.status == DONE, outcome.error
    [second_log] = [p.read_text() for p in work_dir.glob("*/*.log") if "resumed epoch: 1" in p.read_text()]
    assert "Epoch(train) [2][" in second_log and "Epoch(train) [1][" not in second_log, \
        "the run after the kill trains epoch 2 only"

    reference = engine.run([node], ResultStore("reference_store"), work_root="reference_work",
                           settings={"progress": False, "threads": 1}).outcomes[node.key]
    assert reference.status == DONE, reference.error
    assert outcome.result["epochs"] == reference.result["epochs"], "same seed, same metrics, killed or not"

    runs = tracker.client.search_runs([tracker.experiment_id("crowdhuman")])
    statuses = sorted(r.info.status for r in runs if r.data.tags.get("dsla.key") == node.key)
    assert statuses == ["FINISHED", "KILLED"], statuses
    [finished] = [r for r in runs if r.data.tags.get("dsla.key") == node.key and r.info.status == "FINISHED"]
    history = tracker.client.get_metric_history(finished.info.run_id, "val/AP")
    assert sorted(m.step for m in history) == [1, 2], "the resumed run's curve starts at epoch 1"
    assert not [r for r in runs if r.info.status == "RUNNING"]
