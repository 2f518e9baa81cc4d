"""`pipeline sweep` refuses contradictory or incomplete options with one clear line, before any work."""
from __future__ import annotations

import pytest

from pipeline import cli


@pytest.mark.parametrize("argv, message", [
    (["sweep", "k", "--pruner", "median"], "grid sweeps train every point to the end"),
    (["sweep", "temps", "--trials", "4"], "--pruner and --trials are for `pipeline sweep search`"),
    (["sweep", "search"], "a search needs --trials N"),
    (["sweep", "k", "--storage", "mysql://db/optuna"], "--storage mysql://db/optuna: expected sqlite:///<file> or postgresql"),
    (["sweep", "k", "--profile", "paper"], "--data-root"),
])
def test_bad_options_are_refused_with_a_clear_message(argv, message, tmp_path, monkeypatch, capsys, mlflow_uri):
    monkeypatch.chdir(tmp_path)
    assert cli.main([*argv, "--tracking-uri", mlflow_uri]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pipeline sweep: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "optuna.db").exists(), "a study was created before the options were checked"


@pytest.fixture
def captured_setup(monkeypatch, tmp_path):
    """`pipeline sweep` up to the point where it would start workers: the setup and job count."""
    from pipeline.sweeps import runner

    seen = {}

    def fake_run_sweep(setup, objective, n_jobs=1, out_dir=None):
        seen.update(setup=setup, n_jobs=n_jobs)
        raise KeyboardInterrupt  # leaves sweep_command before it reads a result
    monkeypatch.setattr(runner, "run_sweep", fake_run_sweep)
    monkeypatch.chdir(tmp_path)
    return seen


@pytest.mark.parametrize("argv, grid, study", [
    (["sweep", "k", "--profile", "smoke"], "smoke", "k-smoke"),
    (["sweep", "temps", "--profile", "smoke"], "smoke", "temps-smoke"),
    (["sweep", "k", "--profile", "tiny"], "tiny", "k-tiny"),
    (["sweep", "k", "--profile", "smoke", "--grid", "paper"], "paper", "k-smoke-grid-paper"),
])
def test_the_grid_follows_the_profile_unless_given(argv, grid, study, captured_setup, mlflow_uri):
    assert cli.main([*argv, "--tracking-uri", mlflow_uri]) == 130
    assert captured_setup["setup"].grid == grid and captured_setup["setup"].study_name == study


@pytest.mark.parametrize("flag", ["--jobs", "--n-jobs"])
def test_jobs_is_the_worker_count_and_n_jobs_its_alias(flag, captured_setup, mlflow_uri):
    assert cli.main(["sweep", "k", "--profile", "smoke", flag, "2", "--tracking-uri", mlflow_uri]) == 130
    assert captured_setup["n_jobs"] == 2
