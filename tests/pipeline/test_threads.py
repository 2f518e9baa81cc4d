"""A training's numbers do not depend on how it is run: `--jobs 1` and `--jobs 2` give one smoke
training the same key and the same numbers (its validation metrics and its trained weights).

Before, `pipeline run` gave each of N jobs cores / N torch threads (`--jobs 1` on this 2-core
machine: torch's default, 2 threads; `--jobs 2`: 1 thread); the float reduction order changed, and
the smoke baseline of Table 4 ended at AP 0.1127 or 0.1344 under one key. Each run is a fresh
interpreter with the thread variables unset (torch's default then is every core), in its own
working directory, with the settings `pipeline run --jobs N` builds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

TRAIN_ONE = """
import json, sys
from experiments import tables as defs
from pipeline.cli import build_parser
from pipeline.commands.run import stage_settings
from pipeline.engine import ResultStore, run
from pipeline.graph import Pipeline

jobs = sys.argv[1]
args = build_parser().parse_args(["run", "table4", "--profile", "smoke", "--jobs", jobs, "--no-progress"])
node = Pipeline("smoke").train(defs.Train("crowdhuman", "baseline"))
outcome = run([node], ResultStore(".pipeline"), jobs=int(jobs), settings=stage_settings(args, {})).outcomes[node.key]
assert outcome.result is not None, outcome.error
print(json.dumps({"key": node.key, "epochs": outcome.result["epochs"], "checkpoint": outcome.result["checkpoint"]}))
"""


def train_with_jobs(folder: Path, jobs: int) -> dict:
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", TRAIN_ONE, str(jobs)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: every job count gave one thread before too")
def test_one_smoke_training_gives_the_same_numbers_under_jobs_1_and_2(tmp_path):
    import torch

    one, two = train_with_jobs(tmp_path / "jobs1", 1), train_with_jobs(tmp_path / "jobs2", 2)
    assert one["key"] == two["key"]
    assert one["epochs"] == two["epochs"]
    weights = [torch.load(r["checkpoint"], map_location="cpu", weights_only=False)["state_dict"] for r in (one, two)]
    assert weights[0].keys() == weights[1].keys()
    different = [name for name in weights[0] if not torch.equal(weights[0][name], weights[1][name])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"
