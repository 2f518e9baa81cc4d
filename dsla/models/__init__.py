"""The method: one-to-one baseline head, DSLA head, their assigners, Feature Shuffle neck."""
from . import backbones, dense_heads, detectors, losses, necks, task_modules  # noqa: F401  (registration)
