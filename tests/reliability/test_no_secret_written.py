"""A password in `--tracking-uri` is never printed or written: not in the console output, the
report, the results store, a work dir (dumped config, mmengine log, console.log, checkpoints), the
MLflow artifacts or the MLflow database itself.

The store is a PostgreSQL database of scripts/postgres.sh (password authentication: the URL it
prints holds the server's random password, which is the secret looked for). An unreachable
server's error line hides it too.
"""
from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.runtime.launch import free_port

pytestmark = pytest.mark.slow

SENTINEL = "Sentinel5ecretPW"  # for the unreachable server, whose password is never checked


@pytest.fixture
def database(postgres_database):
    return postgres_database


def with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:{SENTINEL}@{host}"


def password_of(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under `root` whose bytes, or the bytes of a zip member (a torch checkpoint),
    contain `needle`."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if needle in data:
            found.append(str(path.relative_to(root)))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                if any(needle in archive.read(member) for member in archive.namelist()):
                    found.append(f"{path.relative_to(root)} (inside)")
    return found


def database_dump(url: str) -> str:
    host_db = url.split("@", 1)[1]
    host, db = host_db.split("/", 1)
    hostname, port = host.split(":")
    pg_dump = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
    done = subprocess.run([str(pg_dump), "-h", hostname, "-p", port, "-U", "postgres", db],
                          capture_output=True, text=True, timeout=120, check=True,
                          env=dict(os.environ, PGPASSWORD=password_of(url)))
    return done.stdout


def test_a_password_in_the_tracking_uri_is_in_no_file_and_no_message(tmp_path, monkeypatch, capfd, database):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = database  # holds the server's password
    secret = password_of(database)
    code = cli.main(["run", "table2", "--profile", "smoke", "--tracking-uri", uri, "--no-progress", "--jobs", "2"])
    out, err = capfd.readouterr()
    assert code == 0, err[-3000:]
    assert (tmp_path / "work_dirs").is_dir() and list(tmp_path.glob("work_dirs/*/epoch_*.pth"))
    assert (tmp_path / "reports" / "out" / "smoke" / "index.md").is_file()
    assert list(tmp_path.glob("mlruns/**/config.py")), "the MLflow artifacts are where this test looks"
    assert secret not in out + err
    assert files_holding(tmp_path, secret.encode()) == []
    dump = database_dump(database)
    assert "dsla.key" in dump and secret not in dump


def test_an_unreachable_store_is_one_line_without_the_password(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    uri = f"postgresql+psycopg2://postgres:{SENTINEL}@127.0.0.1:{free_port()}/nothing"
    assert cli.main(["run", "table1", "--profile", "smoke", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not reachable" in err, err
    assert SENTINEL not in err and "postgres:***@127.0.0.1" in err
