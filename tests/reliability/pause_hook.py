"""A test-only hook that makes the window between a checkpoint and its validation deterministic.

mmengine saves epoch N's checkpoint in ``after_train_epoch`` and validates epoch N afterwards;
``PauseBeforeValidationHook(epoch=N, marker=PATH)`` writes ``PATH`` when validation of epoch N is
about to start and then sleeps, so a test can ``kill -9`` the process exactly in that window.
"""
from __future__ import annotations

import time
from pathlib import Path

from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class PauseBeforeValidationHook(Hook):
    priority = "VERY_LOW"

    def __init__(self, epoch: int, marker: str):
        self.epoch, self.marker = epoch, marker

    def before_val_epoch(self, runner) -> None:
        if runner.epoch == self.epoch:
            Path(self.marker).write_text(str(runner.epoch))
            time.sleep(3600)
