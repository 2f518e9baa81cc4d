"""`TrainObjective` over the real engine and results store, with the stages' work faked: what a
trial makes of a finished, failed, pruned or busy train + evaluate."""
from __future__ import annotations

import os
import subprocess
import threading
import time

import optuna
import pytest

from pipeline import graph
from pipeline.engine import NodeHooks, Stage, Stopped
from pipeline.engine.store import ResultStore, write_json_atomic
from pipeline.sweeps.objective import TrainObjective, TrialError
from pipeline.sweeps.spaces import make_sweep

SEEN_SETTINGS = []


def fake_prepare(ctx, **params):
    return {"data_root": "/nowhere/", "val_ann": "annotation_val.odgt", "description": "fake data"}


def fake_train(ctx, *, overrides, **params):
    SEEN_SETTINGS.append(ctx.settings)
    if overrides["K"] == 5:
        raise FloatingPointError("loss_sla_cls is not finite ([nan]); lower the learning rate")
    if overrides["K"] == 8:
        raise Stopped("pruned after epoch 1 (AP 0.0100)")  # what the pruning hook raises
    return {"epochs": [{"epoch": 1, "AP": 0.1}, {"epoch": 2, "AP": 0.2}], "run": overrides}


def fake_evaluate(ctx, *, trained, **params):
    return {"metrics": {"AP": 0.2, "Recall": 0.5}, "data": "fake data"}


class RunIds(NodeHooks):
    """The tracker's part the objective reads: each execution's run id, kept in its record."""

    def before_node(self, node, ctx):
        return f"{node.stage.name}-run"


@pytest.fixture
def objective(tmp_path, monkeypatch):
    monkeypatch.setattr(graph, "PREPARE", Stage("prepare", fake_prepare))
    monkeypatch.setattr(graph, "TRAIN", Stage("train", fake_train))
    monkeypatch.setattr(graph, "EVALUATE", Stage("evaluate", fake_evaluate))
    monkeypatch.chdir(tmp_path)
    SEEN_SETTINGS.clear()
    return TrainObjective(storage="sqlite:///unused.db", study_name="s", pruner={"type": "MedianPruner"},
                          store_root=str(tmp_path / "store"), work_root=str(tmp_path / "work"), tracker=RunIds())


@pytest.fixture
def trial():
    return optuna.create_study(direction="maximize").ask()


SWEEP = make_sweep("k", "smoke")


def test_a_trained_point_gives_its_ap_curve_and_runs_and_the_training_gets_the_pruning_hook(objective, trial):
    result = objective(trial, SWEEP, {"K": 4})
    assert result == {"value": 0.2, "metrics": {"AP": 0.2, "Recall": 0.5}, "data": "fake data", "curve": [0.1, 0.2],
                      "train_run_id": "train-run", "evaluate_run_id": "evaluate-run", "epochs_trained": 2,
                      "curve_epochs": [1, 2]}
    [hook] = SEEN_SETTINGS[0]["train_hooks"]
    assert hook == {"module": "pipeline.sweeps.pruning_hook",  # a watcher: the hook and the module registering it
                    "hook": {"type": "OptunaPruningHook", "study_name": "s",  # the storage URL only in the environment
                             "trial_id": trial._trial_id, "pruner": {"type": "MedianPruner"}, "metric": "AP"}}
    assert os.environ["DSLA_OPTUNA_STORAGE"] == "sqlite:///unused.db"
    again = objective(trial, SWEEP, {"K": 4})
    assert again["value"] == 0.2 and len(SEEN_SETTINGS) == 1, "not served from the cache"
    assert again["epochs_trained"] == 0, "a cached point trained no epochs (the sweep summary adds them up)"


def test_a_failed_training_is_a_trial_error_with_the_stages_own_message(objective, trial):
    with pytest.raises(TrialError, match=r"^train:crowdhuman/dsla_fs,K=5.*FloatingPointError: loss_sla_cls is not finite"):
        objective(trial, SWEEP, {"K": 5})


def test_a_training_stopped_by_the_hook_is_a_pruned_trial(objective, trial):
    with pytest.raises(optuna.TrialPruned, match=r"^pruned after epoch 1 \(AP 0\.0100\)$"):
        objective(trial, SWEEP, {"K": 8})


def test_a_stage_busy_in_another_process_is_waited_for(objective, trial, tmp_path):
    """Two workers starting at once both need the data: the second waits for the first."""
    other = subprocess.Popen(["sleep", "3"])
    threading.Thread(target=other.wait, daemon=True).start()  # reaped when it ends, so its pid dies
    prepare = graph.Pipeline("smoke").prepare("crowdhuman")
    store = ResultStore(tmp_path / "store")
    write_json_atomic(store.running_path(prepare.key), {"pid": other.pid})
    started = time.monotonic()
    assert objective(trial, SWEEP, {"K": 4})["value"] == 0.2
    assert time.monotonic() - started >= 2, "did not wait for the other process"
