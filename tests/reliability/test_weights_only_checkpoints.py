"""No checkpoint reader runs code from a checkpoint: every one loads with ``weights_only=True``.

A malicious pickle (``__reduce__`` -> ``os.system``) given to ``python -m dsla.analysis.deploy``
or to mmengine's loader (``resume``/``load_from``/evaluation) is refused with one line and the
marker file it would create never appears; a real mmengine Runner checkpoint still loads and
resumes (its ``HistoryBuffer``s are allow-listed, ``getattr`` only for their statistics methods).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from dsla.engine.safe_checkpoint import (
    UnsafeCheckpointError,
    load_checkpoint_file,
    use_weights_only_loading,
)

ROOT = Path(__file__).resolve().parents[2]


class _Evil:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _GetattrEscape:
    """``getattr(HistoryBuffer, '__init__')``: the first step of a getattr chain to ``__globals__``."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, "__init__"))


def evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "PWNED"
    path = tmp_path / "epoch_1.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": {"w": torch.zeros(1)}, "x": _Evil(marker)}, path)
    return path, marker


def composed(name: str, folder) -> str:
    """A project config (experiments/compose.py) as one file, for tools that read a file."""
    from experiments import compose

    path = folder / f"{name.replace('/', '_')}.py"
    compose.load(name).dump(str(path))
    return str(path)


def test_deploy_refuses_a_malicious_checkpoint_in_one_line_and_runs_none_of_it(tmp_path):
    path, marker = evil_checkpoint(tmp_path)
    config = composed("smoke/dsla_crowdhuman", tmp_path)
    result = subprocess.run([sys.executable, "-m", "dsla.analysis.deploy", str(config), str(path),
                             str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert not marker.exists(), "the checkpoint's pickle ran code"
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr, result.stderr[-2000:]
    assert "posix.system" in result.stderr


def test_the_pipelines_mmengine_loading_refuses_a_malicious_checkpoint(tmp_path):
    """The qualitative stage loads its checkpoint through mmdet's `init_detector` (mmengine's
    `CheckpointLoader`, as `resume`, `load_from` and evaluation do), from the checkpoint's own
    work folder: the place a pipeline-written file lives, trusted by nothing."""
    from pipeline.stages.qualitative import feature_maps

    path, marker = evil_checkpoint(tmp_path)
    config = composed("smoke/dsla_fs_crowdhuman", tmp_path)
    with pytest.raises(UnsafeCheckpointError, match="posix.system"):
        feature_maps(str(config), str(path), tmp_path / "no_image.jpg")
    assert not marker.exists()


def test_getattr_is_allowed_only_for_history_buffer_statistics(tmp_path):
    path = tmp_path / "escape.pth"
    torch.save({"x": _GetattrEscape()}, path)
    with pytest.raises(UnsafeCheckpointError, match="__init__"):
        load_checkpoint_file(path)


def runner(work_dir: Path, max_epochs: int, resume: bool):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 1)

        def forward(self, x, y=None, mode="loss"):
            out = self.layer(x).squeeze(-1)
            return {"loss": ((out - y.float()) ** 2).mean()} if mode == "loss" else out

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return {"x": torch.full((2,), float(i)), "y": float(i)}

    return Runner(model=Model(), work_dir=str(work_dir), resume=resume,
                  train_dataloader={"dataset": Data(), "batch_size": 4,
                                    "sampler": {"type": "DefaultSampler", "shuffle": False},
                                    "collate_fn": {"type": "default_collate"}},
                  train_cfg={"by_epoch": True, "max_epochs": max_epochs},
                  optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.01}},
                  param_scheduler=[{"type": "MultiStepLR", "milestones": [1], "by_epoch": True}],
                  default_hooks={"checkpoint": {"type": "CheckpointHook", "interval": 1},
                                 "logger": {"type": "LoggerHook", "interval": 1}},
                  randomness={"seed": 0}, experiment_name=f"run{max_epochs}")


def test_a_real_runner_checkpoint_loads_weights_only_and_resumes(tmp_path):
    use_weights_only_loading()
    runner(tmp_path, max_epochs=1, resume=False).train()
    checkpoint = load_checkpoint_file(tmp_path / "epoch_1.pth")
    assert checkpoint["meta"]["epoch"] == 1
    loss = checkpoint["message_hub"]["log_scalars"]["train/loss"]
    assert type(loss).__name__ == "HistoryBuffer" and len(loss.data[0]) == 2  # two iterations
    resumed = runner(tmp_path, max_epochs=2, resume=True)
    resumed.train()
    assert resumed.epoch == 2 and (tmp_path / "epoch_2.pth").is_file()
