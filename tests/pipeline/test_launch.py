"""The commands that launch a training on several processes (torchrun, Slurm)."""
from __future__ import annotations

import sys

import pytest

from pipeline.runtime.launch import command


def test_slurm_command_runs_the_worker_under_srun_with_one_task_per_gpu():
    argv = command("slurm", "work_dirs/abc/config.py",
                   {"partition": "gpu", "gpus": 8, "gpus_per_node": 4, "job_name": "dsla-abc"})
    assert argv[:2] == ["srun", "-p"] and argv[2] == "gpu"
    assert "--ntasks=8" in argv and "--ntasks-per-node=4" in argv and "--gres=gpu:4" in argv
    assert "--job-name=dsla-abc" in argv and "--kill-on-bad-exit=1" in argv
    tail = argv[argv.index(sys.executable):]
    assert tail == [sys.executable, "-u", "-m", "pipeline.runtime.train_worker", "work_dirs/abc/config.py",
                    "--launcher", "slurm"]


def test_slurm_needs_a_partition():
    with pytest.raises(ValueError, match="partition"):
        command("slurm", "c.py", {"gpus": 2})


def test_torchrun_command_starts_nproc_workers():
    argv = command("pytorch", "c.py", {"nproc": 2, "master_port": 29555})
    assert argv == [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29555",
                    "-m", "pipeline.runtime.train_worker", "c.py", "--launcher", "pytorch"]


def test_unknown_launcher_is_refused():
    with pytest.raises(ValueError, match="unknown launcher 'mpi'"):
        command("mpi", "c.py", {})
