"""The mmdet way: `pipeline data synth` with its defaults writes where the configs' own data roots
point, so `python tools/train.py CONFIG` trains right after it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import compose
from pipeline.cli import main
from pipeline.commands.data import default_out

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("preset, config", [("crowd", "smoke/dsla_crowdhuman"), ("sparse", "tiny/baseline_coco")])
def test_synth_writes_where_the_configs_read(preset, config):
    cfg = compose.load(config)
    roots = {cfg[loader].dataset.data_root for loader in ("train_dataloader", "val_dataloader", "test_dataloader")}
    assert roots == {default_out(preset) + "/"}
    assert cfg.val_evaluator.ann_file.startswith(default_out(preset) + "/")


@pytest.mark.slow
def test_tools_train_runs_after_one_data_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "synth", "--num-images", "12", "--image-size", "64", "--workers", "1"]) == 0
    assert (tmp_path / "data" / "synth_crowd" / "annotation_train.odgt").is_file()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"),
                           "smoke/dsla_crowdhuman",  # a project config by name (experiments/compose.py)
                           "--cfg-options", "train_cfg.max_epochs=1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    work_dir = tmp_path / "work_dirs" / "dsla_crowdhuman"
    assert (work_dir / "epoch_1.pth").is_file() and not (work_dir / "epoch_2.pth").exists()
    assert "crowdhuman/AP" in done.stdout + done.stderr, "no validation ran"
    resumed = subprocess.run([sys.executable, str(REPO / "tools" / "train.py"),
                              "smoke/dsla_crowdhuman",  # a project config by name (experiments/compose.py)
                              "--cfg-options", "train_cfg.max_epochs=2", "--resume"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed epoch: 1" in resumed.stdout + resumed.stderr and (work_dir / "epoch_2.pth").is_file()
