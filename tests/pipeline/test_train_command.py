"""`pipeline train CONFIG`: the mmdet way (a config and --cfg-options) with the pipeline's tracking,
caching and resume, on the config's own data roots (where `pipeline data synth` writes)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = "smoke/dsla_crowdhuman"  # a project config by name (experiments/compose.py)


def test_missing_data_is_one_line_saying_how_to_make_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", CONFIG, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "data/synth_crowd/annotation_train.odgt, which does not exist" in err and "pipeline data synth" in err
    assert "Traceback" not in err


def test_bad_cfg_options_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", CONFIG, "--cfg-options", "train_cfg.max_epochs"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.slow
def test_train_tracks_caches_and_names_the_run_after_what_differs(tmp_path, monkeypatch, capsys):
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    assert main(["data", "synth", "--num-images", "12", "--image-size", "64", "--jobs", "1"]) == 0
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    argv = ["train", CONFIG, "--cfg-options", "train_cfg.max_epochs=1", "model.bbox_head.num_soft_anchors=4",
            "--tracking-uri", uri, "--no-progress"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "trained in" in first and "1 epochs" in first
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("dsla/smoke/crowdhuman")
    [run] = client.search_runs([experiment.experiment_id], "tags.`dsla.stage` = 'train'")
    assert run.info.status == "FINISHED"
    assert run.info.run_name.startswith("dsla_crowdhuman model.bbox_head.num_soft_anchors=4 train_cfg.max_epochs=1")
    assert run.data.params["K"] == "4", "the --cfg-options value is what the run trained with"
    assert len(client.get_metric_history(run.info.run_id, "val/AP")) == 1
    [dataset] = run.inputs.dataset_inputs
    assert dataset.dataset.name == "crowdhuman/synth_crowd" and dataset.dataset.digest
    models = client.search_logged_models([experiment.experiment_id])
    assert [m.source_run_id for m in models] == [run.info.run_id]

    assert main(argv) == 0
    assert "reused (cached)" in capsys.readouterr().out
    assert len(client.search_runs([experiment.experiment_id], "tags.`dsla.stage` = 'train'")) == 1
