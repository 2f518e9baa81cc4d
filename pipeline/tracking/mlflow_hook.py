"""Per-epoch training curves into an existing MLflow run: validation metrics, losses, T_j."""
from __future__ import annotations

import os
import time
from collections import defaultdict

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.registry import HOOKS  # the root registry: found from any default scope (mmdet, mmengine)

from ..runtime.epoch_records import table_metric_names

EPOCHS_FILE = "epochs.jsonl"  # where the train stage's EpochRecordHook writes, in the work dir


@HOOKS.register_module()
class MLflowMetricsHook(Hook):
    """Log metric histories to the MLflow run `run_id` at `tracking_uri`, step = epoch (1-based).

    - `val/<name>` after every validation: AP, MR2, JI, Recall (CrowdHuman) or AP, AP50, AP75, ...
      (COCO), as fractions;
    - `train/<loss term>`: the epoch's mean of every logged loss (`loss`, `loss_o2o_cls`, ...);
    - `sla/T_j`: the soft-label scale of the epoch (eq. 4), when `SoftLabelScheduleHook` set it.

    It writes through `MlflowClient` into a run the pipeline created, rather than through
    mmengine's `MLflowVisBackend`, which opens runs of its own and needs the Runner's config.
    Only rank 0 logs.
    """

    priority = "LOW"

    def __init__(self, run_id: str, tracking_uri: str | None = None):
        # The train stage leaves `tracking_uri` unset: MLflow then reads `MLFLOW_TRACKING_URI`,
        # which the stage sets for the training, so the URI (maybe with a password) is never in
        # the dumped config, the mmengine log or the checkpoint's meta.
        self.tracking_uri, self.run_id = tracking_uri, run_id
        self._sums: dict[str, float] = defaultdict(float)
        self._validated: set[int] = set()  # epochs whose validation this process logged
        self._count = 0
        self._client = None

    def _log(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric
        if self._client is None:
            from mlflow.tracking import MlflowClient
            self._client = MlflowClient(self.tracking_uri)
        now = int(time.time() * 1000)
        self._client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()])

    @master_only
    def before_train(self, runner) -> None:
        """A resumed training is a new MLflow run: it first gets the validation curve of the epochs
        trained before (`EpochRecordHook`'s `epochs.jsonl` in the work dir), so its chart starts
        at epoch 1 as an uninterrupted run's does."""
        if runner.epoch == 0:
            return
        from ..runtime.epoch_records import read_epoch_records
        for record in read_epoch_records(os.path.join(runner.work_dir, EPOCHS_FILE)):
            values = {f"val/{k}": v for k, v in record.items() if k != "epoch" and isinstance(v, (int, float))}
            # an epoch validated at this resume (`EpochRecordHook.before_train`) is logged already
            if record["epoch"] <= runner.epoch and values and record["epoch"] not in self._validated:
                self._log(values, step=record["epoch"])

    @master_only
    def before_train_epoch(self, runner) -> None:
        self._sums.clear()
        self._count = 0

    @master_only
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for name, value in (outputs or {}).items():
            if name.startswith("loss"):
                self._sums[name] += float(value.detach() if hasattr(value, "detach") else value)
        self._count += 1

    @master_only
    def after_train_epoch(self, runner) -> None:
        metrics = {f"train/{name}": total / max(self._count, 1) for name, total in self._sums.items()}
        t_j = runner.message_hub.get_info("sla/T_j")
        if t_j is not None:
            metrics["sla/T_j"] = float(t_j)
        if metrics:
            self._log(metrics, step=runner.epoch + 1)

    @master_only
    def after_val_epoch(self, runner, metrics=None) -> None:
        named = table_metric_names(metrics or {})
        if named:
            self._log({f"val/{name}": value for name, value in named.items()}, step=runner.epoch)
            self._validated.add(runner.epoch)
