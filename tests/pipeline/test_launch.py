"""The commands that launch a training on several processes (torchrun, Slurm)."""
from __future__ import annotations

import sys

import pytest

from pipeline.runtime.launch import command, failure

# What srun wrote when `scancel 3` ended a job mid-step (Slurm 22.05, captured on this machine).
CANCELLED_LOG = """$ srun -p debug --job-name=train:crowdhuman/baseline/seed0 --ntasks=1 --cpus-per-task=1 ...
Epoch(train) [1][5/5]  lr: 1.0000e-04  loss: 3.1
srun: Job step aborted: Waiting up to 12 seconds for job step to finish.
slurmstepd-vm: error: *** STEP 3.0 ON vm CANCELLED AT 2026-12-01T14:22:11 ***
srun: error: vm: task 0: Terminated
srun: launch/slurm: _step_signal: Terminating StepId=3.0
"""


def test_slurm_command_runs_the_worker_under_srun_with_one_task_per_gpu():
    argv = command("slurm", "work_dirs/abc/config.py",
                   {"partition": "gpu", "gpus": 8, "gpus_per_node": 4, "job_name": "dsla-abc"})
    assert argv[:2] == ["srun", "-p"] and argv[2] == "gpu"
    assert "--ntasks=8" in argv and "--ntasks-per-node=4" in argv and "--gres=gpu:4" in argv
    assert "--job-name=dsla-abc" in argv and "--kill-on-bad-exit=1" in argv
    tail = argv[argv.index(sys.executable):]
    assert tail == [sys.executable, "-u", "-m", "pipeline.runtime.train_worker", "work_dirs/abc/config.py",
                    "--launcher", "slurm"]


def test_a_slurm_request_without_gpus_asks_for_cpu_tasks_and_no_gres():
    argv = command("slurm", "c.py", {"partition": "debug", "gpus": 0, "nproc": 2, "cpus_per_task": 1,
                                     "srun_args": ["--time=1:00:00"]})
    assert not any(arg.startswith("--gres") for arg in argv), argv
    assert "--ntasks=2" in argv and "--cpus-per-task=1" in argv
    assert not any(arg.startswith("--ntasks-per-node") for arg in argv), "CPU tasks may spread over nodes"
    assert argv.index("--time=1:00:00") < argv.index(sys.executable), "extra srun arguments go to srun"
    with_gpus = command("slurm", "c.py", {"partition": "gpu", "gpus": 2})
    assert "--gres=gpu:2" in with_gpus and "--ntasks=2" in with_gpus and "--cpus-per-task=5" in with_gpus


def test_a_cancelled_slurm_job_is_named_with_its_checkpoint(tmp_path):
    log = tmp_path / "launch-slurm.log"
    log.write_text(CANCELLED_LOG)
    for epoch in (1, 2, 10):
        (tmp_path / f"epoch_{epoch}.pth").write_bytes(b"")
    message = failure("slurm", 143, log, tmp_path)
    assert message.startswith("Slurm job 3 was cancelled at 2026-12-01T14:22:11 on vm "), message
    assert "resumes it from epoch_10.pth" in message and str(log) in message
    for checkpoint in tmp_path.glob("*.pth"):
        checkpoint.unlink()
    assert "saved no checkpoint yet" in failure("slurm", 143, log, tmp_path)
    log.write_text(CANCELLED_LOG.replace("2026-12-01T14:22:11 ***", "2026-12-01T14:22:11 DUE TO TIME LIMIT ***"))
    assert "due to time limit" in failure("slurm", 143, log, tmp_path)


# A task that failed by itself: --kill-on-bad-exit then cancels the other task (Slurm 22.05, this machine).
TASK_FAILED_LOG = """ValueError: boom
srun: error: vm: task 1: Exited with exit code 1
srun: launch/slurm: _step_signal: Terminating StepId=17.0
slurmstepd-vm: error: *** STEP 17.0 ON vm CANCELLED AT 2026-12-01T15:12:50 ***
srun: error: vm: task 0: Terminated
srun: Force Terminated StepId=17.0
"""


def test_a_failed_task_is_not_reported_as_a_cancelled_job(tmp_path):
    log = tmp_path / "launch-slurm.log"
    log.write_text(TASK_FAILED_LOG)
    message = failure("slurm", 143, log, tmp_path)
    assert "cancelled" not in message, message
    assert message == f"slurm training exited with code 143 (vm: task 1: Exited with exit code 1): ValueError: boom; log: {log}"


def test_another_launch_failure_names_its_last_error_line(tmp_path):
    log = tmp_path / "launch-pytorch.log"
    log.write_text("$ python -m torch.distributed.run ...\nloading\nValueError: bad config value\ntorchrun: exit\n")
    assert failure("pytorch", 1, log, tmp_path) == (
        f"pytorch training exited with code 1: ValueError: bad config value; log: {log}")


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
