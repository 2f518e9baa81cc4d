"""The local services the scripts start are not open doors: scripts/postgres.sh's server asks a
password over TCP and allows only peer authentication on its socket (no `trust`: another local
user cannot log in as the superuser and run `COPY ... TO PROGRAM`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from pipeline.runtime.launch import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@pytest.mark.skipif(not BIN or os.geteuid() != 0, reason="needs Debian's postgresql and root (as the script)")
def test_postgres_script_requires_a_password_and_trusts_nobody():
    data = Path(f"/tmp/dsla-pg-authtest-{uuid.uuid4().hex[:8]}")  # /tmp: the postgres user must reach it
    env = dict(os.environ, DSLA_PG_PORT=str(free_port()), DSLA_PG_DIR=str(data))
    script = ["bash", str(REPO / "scripts" / "postgres.sh")]
    try:
        done = subprocess.run([*script, "--start-only"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        url = done.stdout.strip().splitlines()[-1]
        password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
        assert password, url
        hba = [line.split() for line in (data / "pg_hba.conf").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
        assert hba and not [rule for rule in hba if "trust" in rule], hba
        psql = [str(BIN[-1] / "psql"), "-h", "127.0.0.1", "-p", env["DSLA_PG_PORT"], "-U", "postgres", "-w",
                "-tAc", "select 1"]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        without = subprocess.run(psql, env=clean, capture_output=True, text=True, timeout=30)
        assert without.returncode != 0 and "password" in without.stderr, without
        wrong = subprocess.run(psql, env=dict(clean, PGPASSWORD="guess"), capture_output=True, text=True, timeout=30)
        assert wrong.returncode != 0, "a wrong password logged in"
        right = subprocess.run(psql, env=dict(clean, PGPASSWORD=password), capture_output=True, text=True, timeout=30)
        assert right.stdout.strip() == "1", right.stderr
        assert oct(Path(f"{data}.password").stat().st_mode)[-3:] == "600"
    finally:
        subprocess.run([*script, "stop"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)
        for leftover in Path("/tmp").glob(f"{data.name}.*"):
            leftover.unlink()
