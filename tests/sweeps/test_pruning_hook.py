"""`OptunaPruningHook`: per-epoch AP into the trial, and training stopped when the trial is pruned."""
from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest

from pipeline.engine import Stopped
from pipeline.sweeps.pruners import build_pruner, pruner_spec

MEDIAN = {"type": "MedianPruner", "n_startup_trials": 2, "n_warmup_steps": 0}


@pytest.fixture
def storage(tmp_path):
    """A study with two finished trials whose AP was 0.3, 0.5 and 0.4, 0.6 after epochs 1, 2."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    for curve in ([0.3, 0.5], [0.4, 0.6]):
        trial = study.ask()
        for epoch, value in enumerate(curve, 1):
            trial.report(value, epoch)
        study.tell(trial, curve[-1])
    return url


def hook_for_new_trial(storage, pruner=MEDIAN):
    from mmdet.registry import HOOKS

    import pipeline.sweeps.pruning_hook  # noqa: F401  (registers the hook)

    study = optuna.load_study(study_name="s", storage=storage)
    trial = study.ask()
    hook = HOOKS.build(dict(type="OptunaPruningHook", storage=storage, study_name="s", trial_id=trial._trial_id,
                            pruner=pruner))
    runner = SimpleNamespace(epoch=0)
    hook.before_train(runner)
    return hook, runner, study, trial


def test_a_trial_below_the_median_is_pruned_at_once(storage):
    hook, runner, study, trial = hook_for_new_trial(storage)
    runner.epoch = 1
    with pytest.raises(Stopped, match=r"pruned after epoch 1 \(AP 0\.1000\)"):
        hook.after_val_epoch(runner, {"crowdhuman/AP": 0.1, "crowdhuman/MR2": 0.95})
    frozen = study._storage.get_trial(trial._trial_id)
    assert frozen.intermediate_values == {1: 0.1} and frozen.user_attrs["pruned_at_epoch"] == 1


def test_a_good_trial_reports_every_epoch_and_trains_on(storage):
    hook, runner, study, trial = hook_for_new_trial(storage)
    for epoch, value in ((1, 0.45), (2, 0.7)):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {"crowdhuman/AP": value})
    frozen = study._storage.get_trial(trial._trial_id)
    assert frozen.intermediate_values == {1: 0.45, 2: 0.7} and "pruned_at_epoch" not in frozen.user_attrs


def test_without_a_pruner_nothing_is_pruned(storage):
    hook, runner, study, trial = hook_for_new_trial(storage, pruner=None)
    runner.epoch = 1
    hook.after_val_epoch(runner, {"coco/bbox_mAP": 0.0})
    assert study._storage.get_trial(trial._trial_id).intermediate_values == {1: 0.0}


def test_a_missing_metric_is_named_with_the_logged_ones(storage):
    hook, runner, _, _ = hook_for_new_trial(storage)
    runner.epoch = 1
    with pytest.raises(KeyError, match=r"'AP' not among the logged metrics \['MR2'\]"):
        hook.after_val_epoch(runner, {"crowdhuman/MR2": 0.9})


def test_pruner_specs_build_optunas_pruners():
    assert isinstance(build_pruner(pruner_spec("median", 8)), optuna.pruners.MedianPruner)
    hyperband = build_pruner(pruner_spec("hyperband", 8))
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner) and hyperband._max_resource == 8
    assert isinstance(build_pruner(pruner_spec("none", 8)), optuna.pruners.NopPruner)
    with pytest.raises(ValueError, match="type must name a class of optuna.pruners"):
        build_pruner({"type": "Study"})
    with pytest.raises(ValueError, match="unknown pruner 'sometimes'"):
        pruner_spec("sometimes", 8)
