"""A trial's work: the pipeline's ordinary train + evaluate of one DSLA configuration.

`TrainObjective(trial, sweep, params)` asks `pipeline.graph.train_and_evaluate` for the configuration's
evaluate node, so a point trained before (by a table, another sweep or another trial) is a cached
result, and a point trained now is a result every table reuses. The training gets an
`OptunaPruningHook` (through the `train_hooks` setting, which is not part of any stage key) that
reports each epoch's validation AP to this trial and stops the training when the pruner says so.

Outcomes:
- done: `{"value": AP, "metrics": {...}, "curve": [AP per validated epoch], "curve_epochs": [those epochs],
  "epochs_trained" (0 when the training was reused from the cache), "train_run_id", ...}`;
- pruned: `optuna.TrialPruned` (the hook stopped the training: its stage ends `stopped`; its checkpoint stays,
  so the same point resumes from it if it is ever asked for again);
- failed: `TrialError` with the failing stage's own error (e.g. the head's non-finite loss);
- another process running a stage this point needs (its data preparation, or the same point from
  another worker) is not an outcome: the engine waits for it and then uses its result.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ..engine.store import FAILED, STOPPED, ResultStore
from .storage import STORAGE_ENV


class TrialError(RuntimeError):
    """A trial's training or evaluation failed; the message is the failing stage's error."""


@dataclass
class TrainObjective:
    """Train + evaluate a trial's configuration (picklable: worker processes get it)."""

    storage: str  # the study's Optuna storage URL (for the pruning hook)
    study_name: str
    pruner: dict | None  # the study's pruner spec (see pipeline.sweeps.pruning_hook)
    tracker: object = None  # pipeline.tracking.Tracker
    store_root: str = ".pipeline"
    work_root: str = "work_dirs"
    data_root: str | None = None
    settings: dict = field(default_factory=dict)  # as `pipeline run` passes to its stages

    def hook(self, trial) -> dict:
        """The pruning hook of `trial` (a training's watcher: the hook config and the module that
        registers it); its storage URL comes from $DSLA_OPTUNA_STORAGE (set by `__call__`), never
        from the dumped config."""
        return {"module": "pipeline.sweeps.pruning_hook",
                "hook": dict(type="OptunaPruningHook", study_name=self.study_name, trial_id=trial._trial_id,
                             pruner=self.pruner, metric="AP")}

    def __call__(self, trial, sweep, params: dict) -> dict:
        import optuna

        from ..engine import in_order
        from ..graph import Pipeline, train_and_evaluate

        run = sweep.run(params)
        # a pruned study's pruner reads every epoch's AP; a grid point validates as its table row
        # does, so the two share one stage key (and one training)
        curves = "all" if self.pruner else "figure"
        pipeline = Pipeline(sweep.profile, data_root=self.data_root, curves=curves)  # as train_and_evaluate
        node, trained = pipeline.evaluate(run), pipeline.train(run)
        store = ResultStore(self.store_root)
        os.environ[STORAGE_ENV] = self.storage  # for the pruning hook, here and in launched workers
        settings = {**self.settings, "train_hooks": [self.hook(trial)]}
        began = time.time()
        try:
            result = train_and_evaluate(sweep.profile, run, store=store, tracker=self.tracker,
                                        settings=settings, data_root=self.data_root, work_root=self.work_root,
                                        curves=curves)
        except RuntimeError as error:
            # (a stage another process was running has been waited for by the engine: not an error)
            train_record = store.load(trained.key)
            if train_record.status == STOPPED:  # the pruning hook stopped the training
                raise optuna.TrialPruned(train_record.error) from None
            failed = [n for n in in_order([node]) if store.load(n.key).status == FAILED]  # upstream first
            if failed:
                raise TrialError(f"{failed[0].name}: {store.load(failed[0].key).error}") from None
            raise TrialError(str(error)) from None
        train_record = store.load(trained.key).data
        epochs = train_record["result"]["epochs"]
        # a training recorded before this trial began was reused (a table's, another trial's): it cost nothing
        cached = train_record.get("started", began) < began
        # the MLflow runs of the executions that made them: kept in their records, not in results
        return {"value": result["metrics"]["AP"], "metrics": result["metrics"], "data": result.get("data", ""),
                "curve": [e["AP"] for e in epochs if "AP" in e], "train_run_id": train_record.get("run_id"),
                "curve_epochs": [e["epoch"] for e in epochs if "AP" in e],
                # epochs trained, not validations: a grid point validates as its table row (maybe only at its end)
                "epochs_trained": 0 if cached else epochs[-1]["epoch"],
                "evaluate_run_id": store.load(node.key).data.get("run_id")}
