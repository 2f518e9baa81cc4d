"""Optuna sweeps over the pipeline's train + evaluate stages (`pipeline sweep k|temps|search`).

- `spaces`: what a sweep varies, from the grids of `experiments/tables.py` (Tables 6 and 7);
- `objective`: a trial = the pipeline's cached train + evaluate, with a pruning hook in training;
- `runner`: workers sharing one study (ask, run, tell), resuming, heartbeats and retries;
- `storage`: default storage beside the MLflow store, heartbeats, the lock around trial creation;
- `mlflow_runs`: the sweep's parent run and one child run per trial;
- `summary`: the study's result table, trials table and plots.
"""
