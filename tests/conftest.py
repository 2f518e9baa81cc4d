"""Fixtures shared by several test folders: the local PostgreSQL server of scripts/postgres.sh."""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _server_unavailable(reason: str) -> None:
    """Skip on a developer's machine without PostgreSQL; fail in CI, whose .ci/run starts it."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of the local server of scripts/postgres.sh (started here if it is not running)."""
    try:
        done = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "--start-only"],
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        _server_unavailable("scripts/postgres.sh --start-only: the PostgreSQL server did not start within 120 s")
    if done.returncode != 0:
        _server_unavailable(f"scripts/postgres.sh --start-only could not start PostgreSQL (exit {done.returncode}): "
                            f"{done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def postgres_database(postgres_server):
    """A new, empty database on the local server (its URL), dropped afterwards."""
    import sqlalchemy

    name = f"test_db_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
