"""Training hooks of the method, registered in mmdet's HOOKS.

The pipeline's own hooks (epoch records, MLflow curves, Optuna pruning) live in `pipeline/`:
`dsla` is a plain mmdet plugin and does not depend on the pipeline.
"""
from .epoch_seed_hook import EpochSeedHook
from .soft_label_schedule_hook import SoftLabelScheduleHook

__all__ = ['EpochSeedHook', 'SoftLabelScheduleHook']
