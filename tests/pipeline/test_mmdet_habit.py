"""The mmdet habit, honest: a smoke config trained outside the pipeline says in one line what data
and how many images it uses before it starts; `pipeline train CONFIG --profile P` is the very
training `pipeline run --profile P` does (one key: one cache, one work dir)."""
from __future__ import annotations

import pytest

from experiments import tables as defs
from pipeline import REPO_ROOT
from pipeline.graph import Pipeline, config_training, data_line

SMOKE = REPO_ROOT / "experiments" / "configs" / "smoke"


def test_pipeline_train_with_a_profile_shares_the_pipelines_training():
    assert config_training(SMOKE / "dsla_crowdhuman.py", profile="smoke").key == \
        Pipeline("smoke").train(defs.Train("crowdhuman", "dsla")).key
    knob = config_training(SMOKE / "dsla_fs_crowdhuman.py", profile="smoke", seed=1,
                           cfg_options={"model.bbox_head.num_soft_anchors": 8})
    assert knob.key == Pipeline("smoke").train(defs.Train("crowdhuman", "dsla_fs", K=8), 1).key


def test_options_that_are_not_knobs_keep_a_training_of_their_own():
    other = config_training(SMOKE / "dsla_crowdhuman.py", profile="smoke", cfg_options={"train_cfg.max_epochs": 1})
    assert other.key != Pipeline("smoke").train(defs.Train("crowdhuman", "dsla")).key


def test_a_smoke_config_says_how_many_images_it_trains_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "synth_crowd").mkdir(parents=True)
    (tmp_path / "data" / "synth_crowd" / "annotation_train.odgt").write_text('{"ID": "a"}\n{"ID": "b"}\n\n{"ID": "c"}\n')
    line = data_line(SMOKE / "dsla_crowdhuman.py")
    assert line.startswith("dsla_crowdhuman.py: 3 training images from data/synth_crowd/annotation_train.odgt")
    assert "the smoke profile of `pipeline run` trains this config on 18 images" in line
    assert "--profile smoke" in line and "\n" not in line


def test_tools_train_prints_the_data_line_before_training(tmp_path, monkeypatch, capsys):
    import importlib.util

    from mmengine.runner import Runner

    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location("tools_train", REPO_ROOT / "tools" / "train.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def no_training(cfg):
        raise SystemExit("stopped before training")

    monkeypatch.setattr(Runner, "from_cfg", staticmethod(no_training))
    with pytest.raises(SystemExit):
        tool.main([str(SMOKE / "dsla_crowdhuman.py")])
    out = capsys.readouterr().out
    assert out.startswith("tools/train.py: dsla_crowdhuman.py: ") and "training images" in out
