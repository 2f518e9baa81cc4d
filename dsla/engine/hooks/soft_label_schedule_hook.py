"""Eq. 4's epoch index for the DSLA head, set before every training epoch, and T_j logged."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop


@HOOKS.register_module()
class SoftLabelScheduleHook(Hook):
    """Before each training epoch, tell the head j (0-based ``runner.epoch``) and N
    (``train_cfg.max_epochs``) for T_j of eq. 4, then log T_j.

    ``runner.epoch`` is restored by mmengine's resume before the first ``before_train_epoch``,
    so a resumed run continues the schedule where it stopped. T_j goes to the log, to the
    message hub (info key ``sla/T_j``) and to the visualizer's backends as scalar ``sla/T_j``
    with step j + 1, the step mmengine gives the validation metrics of that epoch.
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError('SoftLabelScheduleHook needs an epoch-based schedule '
                            f"(train_cfg.type='EpochBasedTrainLoop'), got "
                            f'{type(runner.train_loop).__name__}')
        head = self._head(runner)
        epoch, max_epochs = runner.epoch, runner.max_epochs
        head.set_soft_label_epoch(epoch, max_epochs)
        scale = head.soft_label_scale
        runner.logger.info(f'soft labels: T_j = {scale:.4f} (eq. 4, epoch j = {epoch} of '
                           f'N = {max_epochs})')
        runner.message_hub.update_info('sla/T_j', scale)
        runner.visualizer.add_scalars({'sla/T_j': scale}, step=epoch + 1)

    @staticmethod
    def _head(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'bbox_head', None)
        if not hasattr(head, 'set_soft_label_epoch'):
            raise TypeError('SoftLabelScheduleHook needs a head with soft labels (DSLAHead); '
                            f'model.bbox_head is {type(head).__name__}')
        return head
