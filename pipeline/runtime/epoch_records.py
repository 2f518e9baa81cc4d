"""Each epoch's validation metrics to `<work_dir>/epochs.jsonl`: the curve a training returns."""
from __future__ import annotations

import json
import os

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.registry import HOOKS  # the root registry: found from any default scope (mmdet, mmengine)

# mmdet metric keys -> the names the pipeline's tables use (AP, MR2, JI, Recall / AP, AP50, AP75).
COCO_NAMES = {"bbox_mAP": "AP", "bbox_mAP_50": "AP50", "bbox_mAP_75": "AP75"}


def table_metric_names(metrics: dict) -> dict[str, float]:
    """`{'crowdhuman/AP': .., 'coco/bbox_mAP_50': ..}` -> `{'AP': .., 'AP50': ..}` (numbers only)."""
    named = {}
    for key, value in metrics.items():
        if not isinstance(value, (int, float)):
            continue
        name = key.rsplit("/", 1)[-1]
        named[COCO_NAMES.get(name, name)] = float(value)
    return named


@HOOKS.register_module()
class EpochRecordHook(Hook):
    """Append `{"epoch": e, <metric>: value, ...}` to `path` after every validation.

    `epoch` is the number of finished training epochs (1-based). The file survives a resume, so a
    killed and resumed run keeps its whole curve (readers keep the last line of each epoch). These
    records are the train stage's result (Figure 4's curves), so this module is inside the train
    key; the epoch progress bar is `pipeline.runtime.progress.EpochProgressHook`, outside it.

    mmengine saves epoch N's checkpoint (``CheckpointHook.after_train_epoch``) before it validates
    epoch N, so a process killed in between leaves a checkpoint without its validation, and a
    resume would start at N + 1 and lose that point of the curve for good. So when a resumed run
    starts (``before_train``, after the checkpoint is loaded) and the file has no record of the
    loaded epoch, that epoch is validated first, from the loaded checkpoint (on every rank: the
    validation loop is distributed).
    """

    priority = "LOW"

    def __init__(self, path: str):
        self.path = path

    def before_train(self, runner) -> None:
        if runner.epoch > 0 and runner.val_loop is not None and not any(
                record["epoch"] == runner.epoch for record in read_epoch_records(self.path)):
            runner.logger.info(f"epoch {runner.epoch} has a checkpoint but no validation record "
                               f"(killed in between): validating it before training goes on")
            runner.val_loop.run()

    @master_only
    def after_val_epoch(self, runner, metrics=None) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"epoch": runner.epoch, **table_metric_names(metrics or {})}) + "\n")


def read_epoch_records(path: str) -> list[dict]:
    """The records of `EpochRecordHook`, one per epoch (the last one written wins), by epoch."""
    if not os.path.exists(path):
        return []
    by_epoch = {}
    for line in open(path).read().splitlines():
        if line.strip():
            record = json.loads(line)
            by_epoch[record["epoch"]] = record
    return [by_epoch[e] for e in sorted(by_epoch)]
