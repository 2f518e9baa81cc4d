"""Bad configuration is a one-line error naming the value, before any work starts."""
from __future__ import annotations

import pytest

from experiments import tables as defs
from pipeline import cli


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.mark.parametrize("knobs, named", [
    ({"variant": "dsla_xl"}, "'dsla_xl'"),
    ({"K": 0}, "K=0"),
    ({"K": -3}, "K=-3"),
    ({"K": 2.5}, "K=2.5"),
    ({"t_min": 0.7, "t_max": 0.5}, "t_min=0.7 > t_max=0.5"),
    ({"t_min": 0.7}, "t_min=0.7 > t_max=0.6"),  # against the default T^max
    ({"t_max": 1.5}, "t_max=1.5"),
])
def test_bad_training_configuration_names_the_value(knobs, named):
    values = {"dataset": "crowdhuman", "variant": "dsla", **knobs}
    with pytest.raises(ValueError) as error:
        defs.Train(**values)
    message = str(error.value)
    assert named in message and "\n" not in message


def test_good_configurations_are_accepted():
    Train = defs.Train
    assert Train("crowdhuman", "dsla", K=1, t_min=0.5, t_max=0.5).overrides() == {"K": 1, "t_max": 0.5, "t_min": 0.5}
    assert Train("coco", "baseline").overrides() == {}


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_missing_data_root_is_named_before_any_work(workdir, capsys):
    code = cli.main(["run", "table4", "--profile", "paper", "--data-root", str(workdir / "no_such_data")])
    assert code == 2
    assert str(workdir / "no_such_data") in one_line_error(capsys)
    assert list(workdir.iterdir()) == [], "nothing written"


def test_unwritable_output_folder_is_named_before_any_work(workdir, capsys):
    (workdir / "a_file").write_text("not a folder")
    report_dir = workdir / "a_file" / "report"
    code = cli.main(["run", "table1", "--profile", "smoke", "--report-dir", str(report_dir)])
    assert code == 2
    assert str(report_dir) in one_line_error(capsys)
    assert sorted(p.name for p in workdir.iterdir()) == ["a_file"], "no stage ran, no store was created"


def test_unwritable_working_directory_is_refused(workdir, capsys, monkeypatch):
    monkeypatch.setattr("os.access", lambda path, mode: False)  # what a read-only folder answers
    assert cli.main(["run", "table1", "--profile", "smoke"]) == 2
    assert ".pipeline" in one_line_error(capsys)
    assert list(workdir.iterdir()) == []
