"""A training's epoch progress bar on the terminal: it only watches, so it is outside every key."""
from __future__ import annotations

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.registry import HOOKS  # the root registry: found from any default scope (mmdet, mmengine)

from .epoch_records import table_metric_names


@HOOKS.register_module()
class EpochProgressHook(Hook):
    """A tqdm bar counting the training epochs (labelled `description`), with the last validation AP."""

    priority = "LOW"

    def __init__(self, description: str = "epochs"):
        self.description = description
        self._bar = None

    @master_only
    def before_train(self, runner) -> None:
        from tqdm import tqdm
        # disable=None: no bar when stderr is not a terminal (a file or a pipe gets no `\r` lines;
        # the stages line of `pipeline run` says when each training ends)
        self._bar = tqdm(total=runner.max_epochs, initial=runner.epoch, desc=self.description,
                         unit="epoch", leave=False, dynamic_ncols=True, disable=None)

    @master_only
    def after_train_epoch(self, runner) -> None:
        if self._bar is not None:
            self._bar.update(1)

    @master_only
    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.3f}" for k, v in table_metric_names(metrics or {}).items() if k == "AP"})

    @master_only
    def after_train(self, runner) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
