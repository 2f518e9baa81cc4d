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
