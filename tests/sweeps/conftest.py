"""Fixtures of the sweep tests: fresh Optuna storages (SQLite, PostgreSQL) and MLflow stores."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory):
    """An MLflow SQLite store with its tables created (that takes MLflow ~10 s; copying, none)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_uri(tmp_path, empty_mlflow_db):
    shutil.copy(empty_mlflow_db, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture
def sqlite_storage(tmp_path):
    return f"sqlite:///{tmp_path / 'optuna.db'}"


@pytest.fixture
def postgres_storage(postgres_database):
    """A new, empty database on the local server, dropped afterwards."""
    return postgres_database
