"""Pruned TPE search against the K grid: epochs spent and best AP found, same epoch accounting.

    .venv/bin/python -m benchmarks.bench_sweep [--quick] [--profile tiny] [--grid paper]
                     [--trials 8] [--pruners median,hyperband] [--workdir DIR]

Grid: the study `pipeline sweep k` runs (GridSampler over Table 6's K grid, T^max/T^min at the
paper's defaults). Search: the study `pipeline sweep search --trials N --pruner P` runs (TPE over
K, T^max and T^min with T^min <= T^max, spanning the same grid's ranges), once per pruner. Every
trial is the pipeline's real train + evaluate in `--profile`.

Each study gets its own results store and work dirs, so nothing one of them trained is reused by
another (the prepared data and the MLflow store are shared). Epochs are counted the same way for
all: `OptunaPruningHook` reports every validated epoch to the trial, and a study's epochs are the
sum over its trials (a pruned trial counts the epochs it trained before it was stopped).

Printed per study: trials by state, epochs, best AP (in points, as the paper's tables), epochs
until a trial first came within 0.3 AP of the grid's best, epochs thrown away in pruned trials,
wall time. Goal (the sweeps issue): a search within 0.3 AP of the grid's best for at most 40% of
the grid's epochs. `--quick` runs the smoke profile on the smoke grid (2-epoch trainings): it
checks the mechanics, its numbers say nothing about the goal.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from .common import Goal, Section, cli, ratio_goal

AP_TOLERANCE = 0.3  # AP points
EPOCH_SHARE = 0.4


def run_study(kind: str, workdir: Path, profile: str, grid: str, trials: int | None, pruner: str | None,
              seed: int) -> dict:
    """One study in `workdir/<name>/` (its own store and work dirs); its trials and timings."""
    from pipeline.sweeps.objective import TrainObjective
    from pipeline.sweeps.pruners import pruner_spec
    from pipeline.sweeps.runner import SweepSetup, run_sweep
    from pipeline.sweeps.spaces import make_sweep
    from pipeline.tracking import Tracker

    name = f"{kind}-{pruner}" if pruner else kind
    spec = pruner_spec(pruner, make_sweep(kind, profile, grid).max_epochs()) if pruner else None
    storage, uri = f"sqlite:///{workdir / 'optuna.db'}", f"sqlite:///{workdir / 'mlflow.db'}"
    setup = SweepSetup(kind=kind, profile=profile, storage=storage, study_name=name, tracking_uri=uri, grid=grid,
                       pruner=spec, trials=trials, seed=seed)
    objective = TrainObjective(storage=storage, study_name=name, pruner=spec, tracker=Tracker(uri, profile),
                               store_root=str(workdir / name / ".pipeline"), work_root=str(workdir / name / "work_dirs"),
                               settings={"progress": False, "quiet": True})
    started = time.perf_counter()
    result = run_sweep(setup, objective, out_dir=workdir / name / "summary",
                       log=lambda line: print(f"  {name}: {line}", flush=True))
    return {"name": name, "study": result["study"], "counts": result["counts"], "epochs": result["epochs"],
            "seconds": time.perf_counter() - started}


def progress(study) -> list[tuple[int, float | None]]:
    """(epochs spent so far, AP of the trial just finished if complete) in completion order."""
    from optuna.trial import TrialState
    finished = sorted((t for t in study.get_trials(deepcopy=False) if t.datetime_complete),
                      key=lambda t: t.datetime_complete)
    spent, points = 0, []
    for trial in finished:
        spent += trial.user_attrs.get("epochs_trained", 0)
        points.append((spent, trial.value if trial.state == TrialState.COMPLETE else None))
    return points


def epochs_to(study, target: float) -> int | None:
    return next((spent for spent, value in progress(study) if value is not None and value >= target), None)


def pruned_epochs(study) -> int:
    from optuna.trial import TrialState
    return sum(t.user_attrs.get("epochs_trained", 0) for t in study.get_trials(deepcopy=False)
               if t.state == TrialState.PRUNED)


def best_ap(study) -> float | None:
    from pipeline.sweeps.summary import best
    top = best(study)
    return None if top is None else 100 * top["value"]


def measure(quick: bool = False, profile: str = "tiny", grid: str = "paper", trials: int = 8,
            pruners: str = "median,hyperband", seed: int = 0, workdir: str | None = None) -> Section:
    import os

    if quick:
        profile, grid, trials = "smoke", "smoke", 3
    command = (f".venv/bin/python -m benchmarks.bench_sweep --profile {profile} --grid {grid} --trials {trials} "
               f"--pruners {pruners}" + (" --quick" if quick else ""))
    section = Section("Sweeps: pruned TPE search vs the K grid", command)
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="dsla-bench-sweep-"))
    root.mkdir(parents=True, exist_ok=True)
    here = os.getcwd()
    os.chdir(root)  # the pipeline prepares data under ./data, shared by every study
    try:
        studies = [run_study("k", root, profile, grid, None, None, seed)]
        studies += [run_study("search", root, profile, grid, trials, pruner, seed) for pruner in pruners.split(",")]
    finally:
        os.chdir(here)
        if not workdir:
            shutil.rmtree(root, ignore_errors=True)

    grid_study = studies[0]
    grid_best = best_ap(grid_study["study"])
    target = None if grid_best is None else (grid_best - AP_TOLERANCE) / 100
    rows = []
    for study in studies:
        ap = best_ap(study["study"])
        reached = None if target is None else epochs_to(study["study"], target)
        rows.append((study["name"], ", ".join(f"{n} {s.lower()}" for s, n in study["counts"].items() if n),
                     study["epochs"], f"{study['epochs'] / max(grid_study['epochs'], 1):.2f}",
                     "–" if ap is None else f"{ap:.2f}", "never" if reached is None else reached,
                     pruned_epochs(study["study"]), f"{study['seconds']:.0f}"))
        if study is not grid_study:
            gap = None if ap is None or grid_best is None else ap - grid_best
            section.goals.append(Goal(f"{study['name']}: best AP within {AP_TOLERANCE} of the grid's best",
                                      "no complete trial" if gap is None else f"{gap:+.2f} AP vs the grid's best",
                                      f">= -{AP_TOLERANCE} AP", None if gap is None else gap >= -AP_TOLERANCE))
            section.goals.append(ratio_goal(f"{study['name']}: epochs / grid epochs",
                                            study["epochs"] / max(grid_study["epochs"], 1), EPOCH_SHARE))
    section.table(("study", "trials", "epochs", "epochs / grid", "best AP", f"epochs to grid best - {AP_TOLERANCE}",
                   "epochs in pruned trials", "wall s"), rows)
    section.notes.append(f"profile {profile}: every trial is a real train + evaluate; grid `{grid}`; TPE seed {seed}, "
                         f"{trials} trials per search; AP in points (CrowdHuman-style AP x 100)")
    if quick:
        section.notes.append("--quick: smoke profile (2-epoch trainings on 24 images), mechanics only")
    return section


def _options(parser) -> None:
    parser.add_argument("--profile", default="tiny", choices=("smoke", "tiny", "paper"))
    parser.add_argument("--grid", default="paper", choices=("smoke", "tiny", "paper"),
                        help="whose K grid (and ranges for the search) from experiments/tables.py")
    parser.add_argument("--trials", type=int, default=8, help="trials per search")
    parser.add_argument("--pruners", default="median,hyperband", help="comma-separated: median, hyperband, none")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="keep the studies here (default: a temporary directory, removed)")


if __name__ == "__main__":
    cli(measure, __doc__, _options)
