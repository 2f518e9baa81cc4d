"""Commands that launch one training run on several processes through mmengine's launchers.

- `pytorch`: `python -m torch.distributed.run --nproc_per_node N ... -m pipeline.runtime.train_worker
  CONFIG --launcher pytorch` (torchrun; `nproc` processes on this machine).
- `slurm`: `srun -p PARTITION --ntasks N --ntasks-per-node G --gres=gpu:G ... python -u -m
  pipeline.runtime.train_worker CONFIG --launcher slurm`; mmengine reads the rank and world size from
  Slurm's environment (SLURM_PROCID, SLURM_NTASKS, ...), as mmdet's tools/slurm_train.sh does.

The worker trains the dumped config (`work_dirs/<key>/config.py`) with `Runner.from_cfg`; the
pipeline waits for it and reads its `epochs.jsonl` like after an in-process run.
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Mapping

LAUNCHERS = ("none", "pytorch", "slurm")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(launcher: str, config: str | Path, settings: Mapping) -> list[str]:
    """The argv that trains `config` with `launcher` (see the module docstring for settings)."""
    worker = ["-m", "pipeline.runtime.train_worker", str(config), "--launcher", launcher]
    if launcher == "pytorch":
        nproc = int(settings.get("nproc", 1))
        return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                f"--master_port={settings.get('master_port') or free_port()}", *worker]
    if launcher == "slurm":
        if not settings.get("partition"):
            raise ValueError("the slurm launcher needs a partition (--slurm-partition)")
        gpus = int(settings.get("gpus", 1))
        gpus_per_node = int(settings.get("gpus_per_node", min(gpus, 8)))
        return ["srun", "-p", str(settings["partition"]), f"--job-name={settings.get('job_name', 'dsla')}",
                f"--ntasks={gpus}", f"--ntasks-per-node={gpus_per_node}", f"--gres=gpu:{gpus_per_node}",
                f"--cpus-per-task={int(settings.get('cpus_per_task', 5))}", "--kill-on-bad-exit=1",
                *settings.get("srun_args", ()), sys.executable, "-u", *worker]
    raise ValueError(f"unknown launcher {launcher!r}; expected one of {LAUNCHERS}")
