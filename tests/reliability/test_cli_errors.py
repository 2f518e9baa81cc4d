"""Every CLI error is one line with exit status 2, before any work: nothing is created, no MLflow
run is left RUNNING. (Slurm-specific checks are tested with the Slurm launcher.)"""
from __future__ import annotations

import pytest

from pipeline import cli


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def exit_status(argv) -> int:
    """`pipeline ARGV`'s exit status, whether argparse exits or the command returns."""
    try:
        return cli.main(argv)
    except SystemExit as done:
        return done.code


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("argv, named", [
    (["run", "table1", "--jobs", "0"], "--jobs: must be at least 1, got 0"),
    (["run", "table1", "--jobs", "-1"], "--jobs: must be at least 1, got -1"),
    (["run", "table1", "--nproc", "0"], "--nproc: must be at least 1, got 0"),
    (["run", "table1", "--seeds", "0"], "--seeds: must be at least 1, got 0"),
    (["run", "table1", "--jobs", "two"], "--jobs: expected a whole number, got 'two'"),
    (["sweep", "search", "--trials", "-3"], "--trials: must be at least 1, got -3"),
    (["sweep", "search", "--trials", "0"], "--trials: must be at least 1, got 0"),
    (["sweep", "search", "--trials", "4", "--timeout", "-5"], "--timeout: must be a positive number of seconds"),
    (["sweep", "search", "--trials", "4", "--timeout", "0"], "--timeout: must be a positive number of seconds"),
    (["sweep", "search", "--trials", "4", "--timeout", "nan"], "--timeout: must be a positive number of seconds"),
    (["sweep", "k", "--jobs", "0"], "--jobs/--n-jobs: must be at least 1, got 0"),
])
def test_bad_values_are_one_line_before_any_work(workdir, capsys, argv, named):
    assert exit_status(argv + ["--profile", "smoke"]) == 2
    assert named in one_line(capsys)
    assert list(workdir.iterdir()) == [], "nothing created: no store, no MLflow run (none left RUNNING)"


@pytest.mark.parametrize("make_storage, named", [
    (lambda tmp: "not a url", "not a database URL"),
    (lambda tmp: f"sqlite:///{tmp / 'no_such_folder' / 'optuna.db'}", "does not exist"),
    (lambda tmp: (tmp / "dir.db").mkdir() or f"sqlite:///{tmp / 'dir.db'}", "is a folder"),
    (lambda tmp: (tmp / "junk.db").write_bytes(b"junk" * 100) and f"sqlite:///{tmp / 'junk.db'}",
     "is not a SQLite database"),
    (lambda tmp: "postgresql://postgres:pw@127.0.0.1:1/nothing", "PostgreSQL does not answer"),
    (lambda tmp: "mysql://root@127.0.0.1/optuna", "expected sqlite:///<file> or postgresql"),
])
def test_unusable_sweep_storages_are_one_line(workdir, capsys, make_storage, named):
    storage = make_storage(workdir)
    before = sorted(workdir.iterdir())
    code = exit_status(["sweep", "search", "--trials", "2", "--profile", "smoke", "--storage", storage,
                        "--tracking-uri", f"sqlite:///{workdir / 'mlflow.db'}"])
    line = one_line(capsys)
    assert code == 2 and named in line and ":pw@" not in line
    assert not any(run_left_running(workdir / "mlflow.db"))
    assert {p.name for p in workdir.iterdir()} - {p.name for p in before} <= {"mlflow.db", "mlflow.db.lock"}


def run_left_running(db):
    if not db.exists():
        return []
    from mlflow.tracking import MlflowClient
    client = MlflowClient(f"sqlite:///{db}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return [r for r in client.search_runs(experiments) if r.info.status == "RUNNING"] if experiments else []


def test_report_into_a_folder_that_cannot_be_written_is_one_line(workdir, capsys):
    (workdir / "a_file").write_text("not a folder")
    code = exit_status(["report", "--profile", "smoke", "--report-dir", str(workdir / "a_file" / "out")])
    assert code == 2 and "a_file" in one_line(capsys)
