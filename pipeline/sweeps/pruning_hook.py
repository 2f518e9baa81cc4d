"""Per-epoch validation AP into an Optuna trial; training stops the moment the trial is pruned."""
from __future__ import annotations

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.registry import HOOKS  # the root registry: found from any default scope (mmdet, mmengine)

from ..engine.results import Stopped
from ..runtime.epoch_records import table_metric_names
from .storage import STORAGE_ENV


class TrainingPruned(Stopped):
    """The trial was pruned after an epoch: its training stops here."""


@HOOKS.register_module()
class OptunaPruningHook(Hook):
    """Report `metric` after every validation to the Optuna trial `trial_id`; raise when it is pruned.

    After validation epoch e (1-based, as `EpochRecordHook`) rank 0 calls `trial.report(value, e)`
    and `trial.should_prune()` on the trial in `storage` (an RDB URL, shared with the sweep's
    workers); the decision is broadcast so every rank stops together. A pruned trial gets the user
    attribute `pruned_at_epoch` and the hook raises `TrainingPruned` (a `pipeline.engine.Stopped`:
    the train stage ends `stopped`, not `failed`, and the sweep tells Optuna the trial was pruned), which ends
    `Runner.train()` at once: no further epoch is trained (the epoch's checkpoint is already
    written, so a later run of the same configuration resumes from it).

    It runs after the other LOW-priority hooks (`EpochRecordHook`, `MLflowMetricsHook`), so the
    pruned epoch is still recorded and logged.

    Args:
        storage: Optuna storage URL of the study (`sqlite:///...`, `postgresql://...`).
        study_name: the study's name.
        trial_id: the trial's storage id (`trial._trial_id`), not its number.
        pruner: JSON spec of the study's pruner (`pipeline.sweeps.pruners.build_pruner`).
        metric: table name of the reported metric (`AP`; see `table_metric_names`).
    """

    priority = "VERY_LOW"

    def __init__(self, study_name: str, trial_id: int, pruner: dict | None = None,
                 metric: str = "AP", storage: str | None = None):
        # The sweep leaves `storage` unset and puts the URL (maybe with a password) in
        # $DSLA_OPTUNA_STORAGE, so it is not in the dumped config, the logs or the checkpoints.
        import os
        storage = storage or os.environ.get(STORAGE_ENV)
        if not storage:
            raise ValueError(f"OptunaPruningHook: no storage given and ${STORAGE_ENV} is not set")
        self.storage, self.study_name, self.trial_id = storage, study_name, int(trial_id)
        self.pruner, self.metric = pruner, metric
        self._trial = None

    def before_train(self, runner) -> None:
        if is_main_process():
            import optuna

            from .pruners import build_pruner

            # RandomSampler: building a Trial calls the sampler's before_trial, which must not
            # touch the trial (a GridSampler would); the sampler is not used otherwise.
            study = optuna.load_study(study_name=self.study_name, storage=self.storage,
                                      sampler=optuna.samplers.RandomSampler(), pruner=build_pruner(self.pruner))
            self._trial = optuna.trial.Trial(study, self.trial_id)

    def after_val_epoch(self, runner, metrics=None) -> None:
        decision = [None]
        if is_main_process():
            named = table_metric_names(metrics or {})
            if self.metric not in named:
                raise KeyError(f"OptunaPruningHook: validation metric {self.metric!r} not among the logged "
                               f"metrics {sorted(named)}; set metric= to one of them")
            value, epoch = named[self.metric], runner.epoch
            self._trial.report(value, step=epoch)
            if self._trial.should_prune():
                self._trial.set_user_attr("pruned_at_epoch", epoch)
                decision = [f"pruned after epoch {epoch} ({self.metric} {value:.4f})"]
        broadcast_object_list(decision)
        if decision[0] is not None:
            raise TrainingPruned(decision[0])
