"""Launching one training on several processes through mmengine's launchers (torchrun, Slurm).

- `pytorch`: `python -m torch.distributed.run --nproc_per_node N ... -m pipeline.runtime.train_worker
  CONFIG --launcher pytorch` (torchrun; `nproc` processes on this machine).
- `slurm`: one Slurm job per training, its step 0 running the worker under `srun`:

      srun -p PARTITION --job-name=<stage> --ntasks=G --ntasks-per-node=G --gres=gpu:G
           --cpus-per-task=5 --kill-on-bad-exit=1 python -u -m pipeline.runtime.train_worker
           work_dirs/<key>/config.py --launcher slurm

  With GPUs (`gpus` G > 0) one task per GPU, as mmdet's tools/slurm_train.sh does; mmengine reads
  the rank and world size from Slurm's environment (SLURM_PROCID, SLURM_NTASKS, ...). Without GPUs
  (`gpus` 0: a CPU cluster or partition) the request has `nproc` tasks and no `--gres` at all, and
  the worker trains them with gloo (`train_worker.use_cpu_processes`). `cpus_per_task` defaults to 5
  with GPUs, else to the threads each process computes with (`resources.THREADS`). `srun_args` are appended as given
  (`--time`, `--account`, `--qos`, ...).

The worker trains the dumped config (`work_dirs/<key>/config.py`) with `Runner.from_cfg`; the
pipeline waits for it (`run`) and reads its `epochs.jsonl` like after an in-process run. A launch
that fails raises `LaunchError` with a one-line reason: a Slurm job cancelled mid-training (scancel,
time limit, preemption) says so, keeps its checkpoints, and the next `pipeline run` resumes it.
`check_slurm` validates the Slurm settings against the cluster before any work.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ..engine.results import Stopped
from .resources import THREADS

LAUNCHERS = ("none", "pytorch", "slurm")
# In a training's work_dir: one line "<job id> <node list>" per Slurm job that trained it (written by
# the worker's rank 0; the last line is the latest job).
SLURM_JOBS_FILE = "slurm-jobs.txt"
GPU_CPUS_PER_TASK = 5  # mmdet's tools/slurm_train.sh
_CANCELLED = re.compile(r"\*\*\* (?:JOB|STEP) (\d+)(?:\.\S+)? ON (\S+) CANCELLED AT (\S+)(?: DUE TO ([A-Z ]+?))? \*\*\*")
# srun's line for a task that ended by itself with an error (then --kill-on-bad-exit cancels the
# step's other tasks, and the log shows a CANCELLED line too: not a cancelled job).
_TASK_FAILED = re.compile(r"srun: error: \S+: tasks? [\d,-]+: Exited with exit code \d+")
_GRES_GPUS = re.compile(r"gpu(?::[^:,()\s]+)?:(\d+)")


class LaunchError(RuntimeError):
    """A launched training failed; the message says why in one line."""


class SlurmSettingsError(ValueError):
    """Slurm settings that cannot work on this cluster (checked before any work)."""
# The worker's exit code when its training was stopped on purpose (`pipeline.engine.Stopped`,
# e.g. a pruned trial), so the train stage records `stopped`, not `failed`.
STOPPED_EXIT = 75


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slurm_request(settings: Mapping) -> dict:
    """What one training asks Slurm for: tasks, tasks per node, GPUs per node, CPUs per task."""
    gpus = int(settings.get("gpus") or 0)
    if gpus > 0:
        per_node = int(settings.get("gpus_per_node") or min(gpus, 8))
        tasks, gpus_per_node = gpus, per_node
    else:
        tasks, per_node, gpus_per_node = int(settings.get("nproc") or 1), None, 0
    cpus = settings.get("cpus_per_task") or (GPU_CPUS_PER_TASK if gpus > 0 else THREADS)
    return {"tasks": tasks, "tasks_per_node": per_node, "gpus_per_node": gpus_per_node, "cpus_per_task": int(cpus)}


def command(launcher: str, config: str | Path, settings: Mapping) -> list[str]:
    """The argv that trains `config` with `launcher` (see the module docstring for settings)."""
    worker = ["-m", "pipeline.runtime.train_worker", str(config), "--launcher", launcher]
    if launcher == "pytorch":
        nproc = int(settings.get("nproc", 1))
        return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                f"--master_port={settings.get('master_port') or free_port()}", *worker]
    if launcher == "slurm":
        if not settings.get("partition"):
            raise SlurmSettingsError("the slurm launcher needs a partition (--slurm-partition)")
        request = slurm_request(settings)
        argv = ["srun", "-p", str(settings["partition"]), f"--job-name={settings.get('job_name', 'dsla')}",
                f"--ntasks={request['tasks']}"]
        if request["tasks_per_node"]:
            argv.append(f"--ntasks-per-node={request['tasks_per_node']}")
        if request["gpus_per_node"]:  # a CPU request has no --gres: a node without GPUs refuses one
            argv.append(f"--gres=gpu:{request['gpus_per_node']}")
        return [*argv, f"--cpus-per-task={request['cpus_per_task']}", "--kill-on-bad-exit=1",
                *settings.get("srun_args", ()), sys.executable, "-u", *worker]
    raise ValueError(f"unknown launcher {launcher!r}; expected one of {LAUNCHERS}")


def run(launcher: str, config: str | Path, settings: Mapping, *, log: Path, job_name: str, cwd: Path) -> None:
    """Run the training of `config` with `launcher` to its end; its output goes to `log`.

    Raises `LaunchError` naming the cause when it fails. If this process is interrupted, the
    launcher gets SIGTERM (srun then cancels the job step, torchrun stops its workers) before the
    interruption goes on.
    """
    argv = command(launcher, config, {**settings, "job_name": job_name})
    env = dict(os.environ)
    if launcher == "slurm":
        env.setdefault("MASTER_PORT", str(settings.get("master_port") or free_port()))  # gloo, several CPU tasks
    with open(log, "a") as handle:
        handle.write(f"$ {shlex.join(argv)}\n")
        handle.flush()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT)
        try:
            code = process.wait()
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
    if code == STOPPED_EXIT:
        raise Stopped(f"{launcher} training stopped on purpose (e.g. pruned); see {log}")
    if code != 0:
        raise LaunchError(failure(launcher, code, log, Path(config).parent))


def failure(launcher: str, code: int, log: Path, work_dir: Path) -> str:
    """One line on why a launched training ended with `code`, from its log."""
    text = log.read_text(errors="replace") if log.exists() else ""
    cancelled = _CANCELLED.findall(text)
    if launcher == "slurm" and cancelled and not _TASK_FAILED.search(text):
        job, node, when, reason = cancelled[-1]
        checkpoints = sorted(work_dir.glob("epoch_*.pth"), key=lambda p: int(p.stem.split("_")[1]))
        resume = (f"the next `pipeline run` resumes it from {checkpoints[-1].name}" if checkpoints else
                  "it saved no checkpoint yet, so the next `pipeline run` starts it again")
        cause = f"due to {reason.lower()}" if reason else "(scancel, or the cluster's admin)"
        return (f"Slurm job {job} was cancelled at {when} on {node} {cause} before the training finished; "
                f"{resume}; log: {log}")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("$ ")]
    errors = [line for line in lines if ("Error" in line or "error:" in line)
              and not line.startswith(("srun:", "slurmstepd"))]  # the training's own error, not srun's echo
    last = (errors or lines or ["(no output)"])[-1]
    task = _TASK_FAILED.search(text)
    where = f" ({task.group(0).removeprefix('srun: error: ')})" if task else ""
    return f"{launcher} training exited with code {code}{where}: {last[:300]}; log: {log}"


def slurm_jobs(work_dir: Path) -> list[str]:
    """The ids of the Slurm jobs that trained `work_dir`, oldest first."""
    path = Path(work_dir) / SLURM_JOBS_FILE
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def check_slurm(settings: Mapping) -> None:
    """Raise `SlurmSettingsError` (one line) when `settings` cannot run on this cluster.

    Checks, with Slurm's own `sinfo`: the client commands are there, a partition is named and exists,
    a GPU request fits the partition's GPUs (a CPU-only partition needs `--gpus 0`), and the CPUs per
    task fit on its nodes.
    """
    gpus, nproc = settings.get("gpus"), settings.get("nproc")
    if gpus is not None and int(gpus) < 0:
        raise SlurmSettingsError(f"--gpus {gpus}: must be 0 (CPU tasks) or more")
    if nproc is not None and int(nproc) < 1:
        raise SlurmSettingsError(f"--nproc {nproc}: must be 1 or more")
    if settings.get("cpus_per_task") is not None and int(settings["cpus_per_task"]) < 1:
        raise SlurmSettingsError(f"--slurm-cpus-per-task {settings['cpus_per_task']}: must be 1 or more")
    for tool in ("srun", "sinfo"):
        if shutil.which(tool) is None:
            raise SlurmSettingsError(f"--launcher slurm: `{tool}` is not on PATH (Slurm's client commands are "
                                     "needed; scripts/slurm.sh starts a one-node cluster on this machine)")
    partitions = _sinfo(["-o", "%R"])
    partition = settings.get("partition")
    if not partition:
        raise SlurmSettingsError("--launcher slurm needs --slurm-partition "
                                 f"(this cluster's partitions: {', '.join(sorted(set(partitions))) or 'none'})")
    rows = [line.split("|") for line in _sinfo(["-p", str(partition), "-o", "%R|%c|%G"])]
    rows = [row for row in rows if row[0] == partition]
    if not rows:
        raise SlurmSettingsError(f"--slurm-partition {partition}: no such partition "
                                 f"(this cluster's partitions: {', '.join(sorted(set(partitions))) or 'none'})")
    request = slurm_request(settings)
    node_gpus = max(sum(int(n) for n in _GRES_GPUS.findall(row[2])) for row in rows)
    if request["gpus_per_node"] > node_gpus:
        if node_gpus == 0:
            raise SlurmSettingsError(f"--gpus {settings.get('gpus')}: partition {partition} has no GPUs (its nodes' "
                                     f"gres: {rows[0][2]}); --gpus 0 trains with CPU tasks there")
        raise SlurmSettingsError(f"--gpus {settings.get('gpus')}: {request['gpus_per_node']} GPUs per node requested, "
                                 f"partition {partition}'s nodes have at most {node_gpus}")
    node_cpus = max(int(re.sub(r"\D", "", row[1]) or 0) for row in rows)
    if request["cpus_per_task"] > node_cpus:
        raise SlurmSettingsError(f"{request['cpus_per_task']} CPUs per task requested (--slurm-cpus-per-task), "
                                 f"partition {partition}'s nodes have at most {node_cpus}")


def _sinfo(args: list[str]) -> list[str]:
    try:
        done = subprocess.run(["sinfo", "-h", *args], capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        raise SlurmSettingsError("--launcher slurm: sinfo did not answer within 30 s (is slurmctld up?)") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise SlurmSettingsError(f"--launcher slurm: sinfo failed: {reason}")
    return [line.strip().rstrip("*") for line in done.stdout.splitlines() if line.strip()]
