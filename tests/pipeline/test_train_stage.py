"""The real train stage on the smoke profile: resume after a kill, and torchrun with 2 processes."""
from __future__ import annotations

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import tables as defs
from pipeline import engine, profiles
from pipeline.digest import REPO_ROOT
from pipeline.engine.store import DONE, ResultStore
from pipeline.graph import Pipeline

pytestmark = pytest.mark.slow

KILL_AFTER_EPOCH_1 = """
import pickle, sys
from pipeline import engine
from pipeline.engine.store import ResultStore
node = pickle.load(open(sys.argv[1], "rb"))
engine.run([node], ResultStore(".pipeline"), settings={"progress": False})
"""


def wait_for(condition, timeout: float, what: str, process=None) -> None:
    deadline = time.time() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            records = [p.read_text()[-1500:] for p in Path(".pipeline").glob("*/result.json")]
            raise AssertionError(f"the training process ended (code {process.returncode}) before {what}; "
                                 f"stderr: {process.stderr.read().decode()[-1500:]}; records: {records}")
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").train(defs.Train("crowdhuman", "baseline"))
    work_dir = tmp_path / "work_dirs" / node.key
    epochs_file = work_dir / "epochs.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    (tmp_path / "node.pkl").write_bytes(pickle.dumps(node))  # the very node (and key) resumed below
    process = subprocess.Popen([sys.executable, "-c", KILL_AFTER_EPOCH_1, "node.pkl"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: epochs_file.exists() and epochs_file.read_text().strip(), 300,
                 "epoch 1's validation", process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (work_dir / "epoch_1.pth").exists() and not (work_dir / "epoch_2.pth").exists()
    store = ResultStore(".pipeline")
    assert store.load(node.key).status == "missing", "a killed stage leaves no result"

    report = engine.run([node], store, settings={"progress": False})
    assert report.outcomes[node.key].status == DONE, report.outcomes[node.key].error
    result = report.outcomes[node.key].result
    assert [e["epoch"] for e in result["epochs"]] == [1, 2], "epoch 1's record survives the kill"
    logs = "".join(p.read_text() for p in work_dir.glob("*/*.log"))
    assert "resumed epoch: 1" in logs
    assert Path(result["checkpoint"]).name == "epoch_2.pth"


def test_torchrun_with_two_gloo_processes_trains_like_one_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline = Pipeline("smoke")
    node = pipeline.train(defs.Train("crowdhuman", "dsla_fs"))
    store = ResultStore(".pipeline")
    report = engine.run([node], store, settings={"progress": False, "launcher": "pytorch", "nproc": 2})
    outcome = report.outcomes[node.key]
    assert outcome.status == DONE, outcome.error
    work_dir = tmp_path / "work_dirs" / node.key
    launch_log = (work_dir / "launch-pytorch.log").read_text()
    logs = "".join(p.read_text() for p in work_dir.glob("*/*.log"))
    assert "Distributed launcher: pytorch" in logs and "GPU number: 2" in logs, launch_log[-2000:]  # 2 processes
    data = profiles.SYNTHETIC["smoke"]["crowdhuman"]
    train_images = data["num_images"] - round(data["num_images"] * data["val_fraction"])  # 4 per batch and process
    assert f"Epoch(train) [1][{math.ceil(train_images / 8)}/{math.ceil(train_images / 8)}]" in logs, \
        "the two processes split each epoch's images"
    result = outcome.result
    max_epochs = 2
    assert [e["epoch"] for e in result["epochs"]] == list(range(1, max_epochs + 1))
    assert set(result["final"]) == {"epoch", "AP", "MR2", "JI", "Recall"}
    assert all(0 <= e["AP"] <= 1 for e in result["epochs"])
    assert Path(result["checkpoint"]).exists()
    lines = json.loads((work_dir / "epochs.jsonl").read_text().splitlines()[0])
    assert lines["epoch"] == 1, "only rank 0 writes the epoch records"
    assert len((work_dir / "epochs.jsonl").read_text().splitlines()) == max_epochs
