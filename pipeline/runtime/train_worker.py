"""`python -m pipeline.runtime.train_worker CONFIG --launcher pytorch|slurm`: train one dumped config.

The process side of `pipeline.runtime.launch`: each launched process builds the Runner from the config
(mmengine initialises the process group from the launcher's environment) and trains; resume
and hooks are already set in the config by the train stage. Under Slurm, rank 0 first appends the
job's id to `work_dirs/<key>/slurm-jobs.txt`. Every process computes with the stage's fixed
threads (`pipeline.runtime.resources`), not with the CPUs a launcher gave it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..engine.results import Stopped
from .launch import SLURM_JOBS_FILE, STOPPED_EXIT
from .resources import limit_threads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--launcher", choices=("pytorch", "slurm", "none"), default="none")
    args = parser.parse_args(argv)

    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    from dsla.engine.safe_checkpoint import use_weights_only_loading

    use_weights_only_loading()  # also done by importing dsla (the config's custom_imports)
    limit_threads()  # the same threads as an in-process training: the numbers must not depend on the launcher
    work_dir = Path(args.config).resolve().parent
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.launcher == "slurm":
        record_slurm_job(work_dir)
        if not torch.cuda.is_available():
            slurm_process_group_env()
    if args.launcher in ("pytorch", "slurm") and not torch.cuda.is_available():
        use_cpu_processes(cfg)
    try:
        Runner.from_cfg(cfg).train()
    except Stopped as stop:
        print(f"training stopped: {stop}", file=sys.stderr, flush=True)
        sys.exit(STOPPED_EXIT)


def record_slurm_job(work_dir: Path) -> None:
    """Rank 0 appends "<job id> <node list>" to `slurm-jobs.txt` (how the pipeline finds its jobs)."""
    if os.environ.get("SLURM_PROCID", "0") == "0" and os.environ.get("SLURM_JOB_ID"):
        nodes = os.environ.get("SLURM_STEP_NODELIST") or os.environ.get("SLURM_JOB_NODELIST", "")
        with open(work_dir / SLURM_JOBS_FILE, "a") as handle:
            handle.write(f"{os.environ['SLURM_JOB_ID']} {nodes}\n")


def slurm_process_group_env() -> None:
    """torch.distributed's env:// variables from a Slurm step's (what mmengine's `_init_dist_slurm`
    sets before it asks for CUDA): rank, world size, and the step's first node as the master, on the
    port the launcher chose (MASTER_PORT, passed through srun's environment)."""
    os.environ["RANK"] = os.environ["SLURM_PROCID"]
    os.environ["WORLD_SIZE"] = os.environ["SLURM_NTASKS"]
    os.environ["LOCAL_RANK"] = os.environ.get("SLURM_LOCALID", "0")
    if "MASTER_ADDR" not in os.environ:
        nodes = os.environ.get("SLURM_STEP_NODELIST") or os.environ["SLURM_JOB_NODELIST"]
        hosts = subprocess.run(["scontrol", "show", "hostnames", nodes], capture_output=True, text=True, check=True)
        os.environ["MASTER_ADDR"] = hosts.stdout.split()[0]
    os.environ.setdefault("MASTER_PORT", "29500")


def use_cpu_processes(cfg) -> None:
    """Distributed training without GPUs: a gloo process group and DDP over CPU modules.

    mmengine's `init_dist` calls `torch.cuda.set_device` and its default DDP wrapper passes
    `device_ids=[LOCAL_RANK]`, both of which need CUDA. The Runner skips `init_dist` when a process
    group exists, so it is created here (rank and world size from torchrun's environment, or from
    Slurm's through `slurm_process_group_env`), and the wrapper gets `device_ids=None`, which is how
    DDP wraps a CPU module.
    """
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    cfg.model_wrapper_cfg = {"type": "MMDistributedDataParallel", "device_ids": None, "broadcast_buffers": False,
                             "find_unused_parameters": cfg.get("find_unused_parameters", False)}


if __name__ == "__main__":
    main()
