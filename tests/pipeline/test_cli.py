"""The `pipeline run / status / report` commands on the cheapest real target (Table 1)."""
from __future__ import annotations

import time

import pytest

from pipeline import cli
from pipeline.engine.store import ResultStore
from pipeline.graph import Pipeline


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def test_unreachable_tracking_server_stops_the_run_before_any_stage(workdir, capsys):
    started = time.time()
    code = cli.main(["run", "table1", "--profile", "smoke", "--tracking-uri", "http://127.0.0.1:9"])
    assert code == 2 and time.time() - started < 15
    assert "http://127.0.0.1:9 is not reachable" in capsys.readouterr().err
    assert not (workdir / ".pipeline").exists(), "no stage may run without its tracking store"


@pytest.mark.slow  # draws two small synthetic datasets and creates an MLflow store
def test_run_status_dry_run_and_report_on_table1(workdir, capsys):
    assert cli.main(["run", "table1", "--profile", "smoke", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "3 stages ran, 0 reused" in out and f"sqlite:///{workdir / 'mlflow.db'}" in out
    assert (workdir / "mlflow.db").exists(), "the default store is a SQLite file in the working directory"

    assert cli.main(["run", "table1", "--profile", "smoke", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "0 of 3 stages would run; 3 are cached."

    assert cli.main(["status", "table1", "--profile", "smoke"]) == 0
    status = capsys.readouterr().out
    assert status.count("done ") == 3 and "table1" in status

    table = workdir / "reports" / "out" / "smoke" / "table1.md"
    table.unlink()
    assert cli.main(["report", "--profile", "smoke"]) == 0
    assert "22.64" in table.read_text() and "Not produced yet" in (table.parent / "index.md").read_text()


def test_unknown_target_and_paper_without_data_are_clear_errors(workdir, capsys):
    assert cli.main(["run", "table9", "--profile", "smoke"]) == 2
    assert "unknown target 'table9'" in capsys.readouterr().err
    assert cli.main(["run", "table4", "--profile", "paper", "--dry-run"]) == 2
    assert "--data-root" in capsys.readouterr().err


def test_paper_data_root_layout_is_checked(workdir):
    (workdir / "real" / "CrowdHuman").mkdir(parents=True)
    from pipeline.profiles import real_data_folder
    with pytest.raises(FileNotFoundError, match="missing: annotation_train.odgt, annotation_val.odgt, Images"):
        real_data_folder(workdir / "real", "crowdhuman")


def test_seeds_multiply_the_trained_rows_only(workdir):
    one, two = Pipeline("smoke"), Pipeline("smoke", seeds=2)
    # the four variants and the prior-matched baseline (a row of ours, experiments/ablations.py)
    assert len(one.table("table4").inputs) == 5 and len(two.table("table4").inputs) == 10
    seeds = {node.params["seed"] for node in (i.inputs["trained"] for i in two.table("table4").inputs.values())}
    assert seeds == {0, 1}
    assert len(two.table("table1").inputs) == 2 and len(two.table("table5").inputs) == 3
    assert ResultStore(".pipeline").load(two.table("table4").key).status == "missing"
