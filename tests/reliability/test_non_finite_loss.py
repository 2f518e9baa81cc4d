"""A non-finite loss in a real training stage: the run stops with a message naming the loss term,
its MLflow run ends FAILED, the stages depending on it are skipped and reported, and an independent
stage still runs."""
from __future__ import annotations

import math

import pytest
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from experiments import tables as defs
from pipeline import engine
from pipeline.engine.store import FAILED, ResultStore
from pipeline.graph import Pipeline
from pipeline.tracking import Tracker

pytestmark = pytest.mark.slow


@HOOKS.register_module(force=True)
class DivergeAtSecondIterationHook(Hook):
    """Test-only: what a diverging optimisation does to the weights — the classifier becomes inf."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == 1:
            with torch.no_grad():
                runner.model.bbox_head.conv_cls.bias.fill_(math.inf)


def test_non_finite_loss_fails_its_stage_skips_dependents_and_spares_independent_stages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline = Pipeline("smoke")
    run = defs.Train("crowdhuman", "baseline")
    train, evaluate, independent = pipeline.train(run), pipeline.evaluate(run), pipeline.prepare("coco")
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke", commit="test")
    report = engine.run([evaluate, independent], ResultStore(".pipeline"), tracker=tracker,
                        settings={"progress": False, "threads": 1,
                                  "train_hooks": [dict(type="DivergeAtSecondIterationHook")]})

    failed = report.outcomes[train.key]
    assert failed.status == FAILED
    assert "FloatingPointError: loss_o2o_cls is not finite" in failed.error, failed.error
    assert "\n" not in failed.error, "one line for the summary"
    skipped = report.outcomes[evaluate.key]
    assert skipped.status == engine.SKIPPED and skipped.error == f"upstream {train.name} failed"
    assert report.outcomes[independent.key].status == engine.DONE, "a stage not depending on it goes on"

    run_id = ResultStore(".pipeline").load(train.key).data["run_id"]
    mlflow_run = tracker.client.get_run(run_id)
    assert mlflow_run.info.status == "FAILED"
    assert "loss_o2o_cls is not finite" in mlflow_run.data.tags["dsla.error"]
