"""`pipeline status` names its profile; a table's key holds only what produces it; no empty bars."""
from __future__ import annotations

from pipeline.cli import main
from pipeline.commands import run as run_command
from pipeline.graph import Pipeline


def test_status_names_its_profile_the_last_one_run_here(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["status", "table1"]) == 0
    assert "table1, profile tiny (the default: nothing has run in this folder" in capsys.readouterr().out
    (tmp_path / ".pipeline").mkdir()
    (tmp_path / ".pipeline" / "last_profile").write_text("smoke\n")
    assert main(["status", "table1"]) == 0
    out = capsys.readouterr().out
    assert "table1, profile smoke (the profile `pipeline run` last used in this folder" in out
    assert "prepare:crowdhuman" in out
    assert main(["status", "table1", "--profile", "tiny"]) == 0
    assert "profile tiny (--profile)" in capsys.readouterr().out


def test_more_seeds_change_the_trained_tables_only():
    one, two = Pipeline("smoke", seeds=1), Pipeline("smoke", seeds=2)
    for name in ("table1", "table5"):
        assert one.table(name).key == two.table(name).key, f"{name} has no trained rows: seeds are not its input"
    assert one.table("table4").key != two.table("table4").key


def test_a_cached_run_draws_no_bar(capsys):
    pipeline = Pipeline("smoke")
    train = pipeline.train(pipeline.tables["table4"].rows[0].source)
    cached = [type("Item", (), {"action": "reuse", "node": train})()]
    listener = run_command._progress(cached, enabled=True)
    listener("finish", train, type("Outcome", (), {"status": "cached"})())
    assert capsys.readouterr().err == ""


def test_status_and_report_remember_the_last_runs_seeds(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = type("Args", (), {"profile": "smoke", "seeds": 2})()
    run_command.remember_run(args)  # what `pipeline run table4 --profile smoke --seeds 2` records
    assert main(["status", "table4"]) == 0
    out = capsys.readouterr().out
    assert "profile smoke" in out and "2 seeds (the --seeds `pipeline run` last used" in out
    assert "seed1" in out, "the second seed's trainings are what status lists"
    expected = {n.key for n in run_command.engine.in_order([Pipeline("smoke", seeds=2).table("table4")])}
    listed = {line.split()[1] for line in out.splitlines() if line.startswith("missing")}
    assert listed == expected
    assert main(["status", "table4", "--seeds", "1"]) == 0
    assert "seeds (the --seeds" not in capsys.readouterr().out
    run_command.remember_run(type("Args", (), {"profile": "smoke", "seeds": None})())
    assert main(["status", "table4"]) == 0
    assert "seeds (the --seeds" not in capsys.readouterr().out
