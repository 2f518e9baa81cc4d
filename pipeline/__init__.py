"""The reproduction pipeline: DAG of stages, MLflow tracking, Optuna sweeps and the CLI."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout: configs, reports/paper, experiments
