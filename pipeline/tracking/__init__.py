"""Tracking: code that watches a run and never changes its numbers, so it is outside every stage key.

- `tracker`: MLflow as the system of record (experiments, one run per stage execution, table
  parent/child runs, the reachability check);
- `redact`: hides the password of every URI in what is printed or written;
- `mlflow_hook`: `MLflowMetricsHook`, the per-epoch curves of a training into its MLflow run;
- `progress`: `EpochProgressHook`, a training's epoch bar on the terminal.
"""
from ..redact import redact
from .tracker import Tracker, TrackingUnavailable, check_reachable, default_tracking_uri, flat_params, git_commit

__all__ = ["Tracker", "TrackingUnavailable", "check_reachable", "default_tracking_uri", "flat_params", "git_commit",
           "redact"]
