"""Ctrl-C in `pipeline run` leaves no Slurm job behind: the launcher's srun is told to end its step."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pipeline.digest import REPO_ROOT

# launch.run on a job whose step sleeps (in place of a training), in a process of its own.
INTERRUPTED_RUN = """
import sys
from pathlib import Path
from pipeline.runtime import launch
launch.command = lambda launcher, config, settings: ["srun", "-p", sys.argv[1], "--job-name=" + settings["job_name"],
                                                    "--ntasks=1", "--cpus-per-task=1", "sleep", "300"]
try:
    launch.run("slurm", "c.py", {}, log=Path("launch.log"), job_name=sys.argv[2], cwd=Path("."))
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def squeue(name: str) -> list[str]:
    done = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %T"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_an_interrupted_pipeline_ends_its_slurm_job(tmp_path, slurm_partition):
    name = f"dsla-interrupt-test-{os.getpid()}"
    process = subprocess.Popen([sys.executable, "-c", INTERRUPTED_RUN, slurm_partition, name], cwd=tmp_path,
                               env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not any(line.endswith("RUNNING") for line in squeue(name)):
            assert process.poll() is None and time.time() < deadline, (tmp_path / "launch.log").read_text()
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)  # to the pipeline's process only, not to srun
        out, _ = process.communicate(timeout=60)
        assert out.strip() == "interrupted"
        deadline = time.time() + 30
        while squeue(name) and time.time() < deadline:
            time.sleep(0.5)
        assert squeue(name) == [], f"the Slurm job outlived the interrupted pipeline: {squeue(name)}"
    finally:
        process.kill()
        subprocess.run(["scancel", "-n", name], check=False)
