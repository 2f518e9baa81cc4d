"""Fixtures shared by several test folders: the local PostgreSQL server of scripts/postgres.sh."""
from __future__ import annotations

import uuid

import pytest
import services  # tests/services.py (this folder is on sys.path: pytest puts a conftest's folder there)


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of the local server of scripts/postgres.sh (started here if it is not running)."""
    return services.start("postgres.sh", "the PostgreSQL server", timeout=120)


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
