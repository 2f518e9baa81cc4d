"""Training hooks, registered in mmdet's HOOKS."""
from .epoch_record_hook import EpochRecordHook
from .epoch_seed_hook import EpochSeedHook
from .mlflow_metrics_hook import MLflowMetricsHook
from .optuna_pruning_hook import OptunaPruningHook
from .soft_label_schedule_hook import SoftLabelScheduleHook

__all__ = ['EpochRecordHook', 'EpochSeedHook', 'MLflowMetricsHook', 'OptunaPruningHook', 'SoftLabelScheduleHook']
