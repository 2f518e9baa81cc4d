"""The reproduction pipeline: DAG of stages, MLflow tracking, Optuna sweeps and the CLI."""
