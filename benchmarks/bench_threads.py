"""Two trainings on one thread each against one training on two threads (tiny, 2 cores).

    .venv/bin/python -m benchmarks.bench_threads [--quick] [--steps 15]

Each side trains the tiny DSLA + FS model on a fixed synthetic batch (4 × 256 px) for ``steps``
steps per process: "2 × 1" starts two processes with one torch thread each at once, "1 × 2" one
process with two threads doing twice the steps. Images per wall second of the whole side, the
sides alternating (A B, B A, ...). Measures only; the thread policy is
``pipeline/runtime/resources.py``'s.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from .common import REPO_ROOT, Section, cli, spread

WORKER = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
from benchmarks.common import quiet
quiet()
from benchmarks.detectors import build_detector, crowd_batch, load_config, train_step
cfg = load_config('tiny', 'dsla_fs')
cfg.model.backbone.prefix_cache = False
step = train_step(build_detector(cfg), cfg, crowd_batch(4, 256, 256, 22, seed=0))
step()
print('ready', flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    step()
"""


def side(processes: int, threads: int, steps: int) -> float:
    """Images per wall second of ``processes`` workers with ``threads`` threads each, timed from
    the moment all have built their model to the last one's end."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(REPO_ROOT))
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(threads), str(steps)], cwd=REPO_ROOT,
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True) for _ in range(processes)]
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("bench_threads: a worker failed before its first step")
    started = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        worker.wait()
    return processes * steps * 4 / (time.perf_counter() - started)


def measure(quick: bool = False, steps: int = 15) -> Section:
    section = Section("11b. Threads: 2 trainings × 1 thread vs 1 training × 2 threads (tiny)",
                      f"python -m benchmarks.bench_threads{' --quick' if quick else ''} --steps {steps}")
    rounds = 2 if quick else 3
    results = {"2 × 1": [], "1 × 2": []}
    loads = [os.getloadavg()[0]]
    for round_ in range(rounds):
        order = [("2 × 1", 2, 1), ("1 × 2", 1, 2)]
        for name, processes, threads in (order if round_ % 2 == 0 else order[::-1]):
            results[name].append(side(processes, threads, steps if processes == 2 else 2 * steps))
        loads.append(os.getloadavg()[0])
    ratios = [a / b for a, b in zip(results["2 × 1"], results["1 × 2"])]
    section.table(("side", "images/s (wall, whole machine), median", "per round"),
                  [(name, f"{statistics.median(v):.2f}", ", ".join(f"{x:.2f}" for x in v))
                   for name, v in results.items()])
    section.notes.append(f"2 × 1 / 1 × 2: median {statistics.median(ratios):.3f} (IQR {spread(ratios)}, "
                         f"n = {rounds}); 1-min load average during the rounds {min(loads):.1f}–{max(loads):.1f} "
                         f"(this benchmark adds 2)")
    return section


def _extra(parser) -> None:
    parser.add_argument("--steps", type=int, default=15, help="steps per process of the 2 × 1 side")


if __name__ == "__main__":
    cli(measure, __doc__, _extra)
