"""DSLA: Dual Subnet Label Assignment as MMDetection 3.x plugins.

Importing this package registers the project's heads, assigners, neck, hooks, datasets and
metrics into MMDetection's registries, so configs can name them by type.
"""
from . import datasets, engine, evaluation, models  # noqa: F401  (registration side effects)
