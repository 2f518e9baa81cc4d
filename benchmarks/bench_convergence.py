"""Convergence: epochs until 95 % of the final AP, DSLA against the baseline (`tiny`, several seeds).

    .venv/bin/python -m benchmarks.bench_convergence [--seeds 3] [--quick] [--threads N]

Each (variant, seed) is one cached train + evaluate of the pipeline
(``pipeline.graph.train_and_evaluate``, profile ``tiny``, CrowdHuman-style synthetic crowds),
recorded in the repository's pipeline store (``.pipeline/``, ``work_dirs/``, MLflow in
``mlflow.db``), so the runs are the report's runs and a second call trains nothing. The curve is
the train stage's per-epoch validation AP (``EpochRecordHook``); the final AP is the evaluate
stage's. ``--quick`` uses one seed.

Epochs to 95 %: the first epoch whose validation AP reaches 95 % of the last epoch's AP (the
definition Figure 4 of our report marked until issue 21; on a step schedule the learning-rate drop
sets it, so the report's claims now count the epochs to the baseline's final AP instead,
``pipeline.report.claims.speedup_claim``). The paper (Figure 4, CrowdHuman, 36 epochs) reads about
10 epochs for DSLA against 14 for the baseline.
"""
from __future__ import annotations

import contextlib
import statistics
from typing import Sequence

from experiments import tables as defs

from .common import REPO_ROOT, Goal, Section, cli

PROFILE, DATASET, VARIANTS = "tiny", "crowdhuman", ("baseline", "dsla")
FRACTION = 0.95
PAPER_EPOCHS = {"baseline": 14, "dsla": 10}


def epochs_to_95(curve: Sequence[float]) -> int | None:
    """1-based epoch at which ``curve`` first reaches 95 % of its last AP; None when the last AP
    is not positive (nothing to converge to)."""
    if not curve or curve[-1] <= 0:
        return None
    return epochs_to_reach(curve, FRACTION * curve[-1])


def epochs_to_reach(curve: Sequence[float], level: float) -> int | None:
    """1-based epoch at which ``curve`` first reaches ``level`` (None: never)."""
    return next((epoch for epoch, ap in enumerate(curve, start=1) if ap >= level), None)


def trained_run(variant: str, seed: int, store, tracker) -> dict:
    """One cached train + evaluate: its AP curve, final AP, and whether it was trained now."""
    from pipeline.graph import Pipeline, train_and_evaluate

    run = defs.Train(DATASET, variant)
    train_key = Pipeline(PROFILE).train(run, seed).key
    cached = store.load(train_key).status == "done"
    import torch

    evaluated = train_and_evaluate(PROFILE, run, seed=seed, store=store, tracker=tracker,
                                   settings={"progress": False, "quiet": True,
                                             "threads": torch.get_num_threads()},
                                   work_root="work_dirs")
    record = store.load(train_key)
    return {"variant": variant, "seed": seed, "key": train_key, "cached": cached,
            "curve": [epoch["AP"] for epoch in record.result["epochs"]],
            "final_ap": evaluated["metrics"]["AP"],
            "train_seconds": record.data["finished"] - record.data["started"]}


def verdict(ratio: float, per_seed: Sequence[float]) -> tuple[bool, str]:
    paper = PAPER_EPOCHS["dsla"] / PAPER_EPOCHS["baseline"]
    if ratio < 1 and all(r < 1 for r in per_seed):
        return True, (f"the claim holds on our data: DSLA reaches 95 % of its final AP sooner in "
                      f"every seed (ratio {ratio:.2f}, paper {paper:.2f})")
    if ratio < 1:
        return False, (f"the claim holds only on average (ratio {ratio:.2f}, paper {paper:.2f}); "
                       f"not in every seed")
    return False, (f"the claim does NOT hold on our data: DSLA needs as many or more epochs "
                   f"(ratio {ratio:.2f}, paper {paper:.2f})")


def measure(quick: bool = False, seeds: int = 3) -> Section:
    from pipeline.engine.store import ResultStore
    from pipeline.tracking import Tracker, check_reachable, default_tracking_uri

    seeds = 1 if quick else seeds
    section = Section("5. Convergence: epochs to 95 % of the final AP (tiny)",
                      f"python -m benchmarks.bench_convergence --seeds {seeds}")
    runs = []
    with contextlib.chdir(REPO_ROOT):  # the pipeline's own store, data and work dirs
        uri = default_tracking_uri()
        check_reachable(uri)
        store, tracker = ResultStore(".pipeline"), Tracker(uri, PROFILE)
        for seed in range(seeds):  # both variants of a seed before the next seed
            runs += [trained_run(variant, seed, store, tracker) for variant in VARIANTS]

    rows = []
    for run in runs:
        rows.append((run["variant"], run["seed"], " ".join(f"{100 * ap:.1f}" for ap in run["curve"]),
                     f"{100 * run['final_ap']:.1f}", epochs_to_95(run["curve"]),
                     "cached" if run["cached"] else f"trained in this call, {run['train_seconds']:.0f} s",
                     run["key"]))
    section.table(("variant", "seed", "validation AP (%) per epoch", "final AP (%)",
                   "epochs to 95 %", "run", "train stage key"), rows)

    epochs = {v: [epochs_to_95(r["curve"]) for r in runs if r["variant"] == v] for v in VARIANTS}
    if any(e is None for values in epochs.values() for e in values):
        section.goals.append(Goal("epochs to 95 % DSLA / baseline", "undefined: a final AP is 0",
                                  f"paper {PAPER_EPOCHS['dsla']}/{PAPER_EPOCHS['baseline']}", None))
        return section
    mean = {v: statistics.mean(epochs[v]) for v in VARIANTS}
    ratio = mean["dsla"] / mean["baseline"]
    per_seed = [d / b for d, b in zip(epochs["dsla"], epochs["baseline"])]
    holds, sentence = verdict(ratio, per_seed)
    final = {v: statistics.mean(r["final_ap"] for r in runs if r["variant"] == v) for v in VARIANTS}
    section.goals.append(Goal(
        f"epochs to 95 % DSLA / baseline ({seeds} seed{'s' if seeds > 1 else ''})",
        f"{mean['dsla']:.2f} / {mean['baseline']:.2f} = {ratio:.2f}",
        f"< 1 (paper {PAPER_EPOCHS['dsla']}/{PAPER_EPOCHS['baseline']} = "
        f"{PAPER_EPOCHS['dsla'] / PAPER_EPOCHS['baseline']:.2f})", holds))
    section.text(f"**{sentence}.** Mean final AP: DSLA {100 * final['dsla']:.1f} %, baseline "
                 f"{100 * final['baseline']:.1f} %.")
    common = []
    for seed in range(seeds):
        curves = {r["variant"]: r["curve"] for r in runs if r["seed"] == seed}
        level = FRACTION * curves["baseline"][-1]
        common.append((seed, f"{100 * level:.1f}",
                       *(epochs_to_reach(curves[v], level) or "never" for v in VARIANTS)))
    section.text("A common bar instead of each run's own final AP (a run that keeps improving "
                 "reaches 95 % of its own final AP late): epochs until 95 % of the baseline's "
                 "final AP.")
    section.table(("seed", "bar: 95 % of baseline final AP (%)", "baseline epochs", "DSLA epochs"),
                  common)
    section.notes += [
        "the tiny schedule is 8 epochs with the learning rate divided by 10 for the last one, "
        "so the last epoch's jump weighs on 'final AP'; the paper's curves span 36 epochs",
        "training ran in this process with the benchmark's torch threads; the runs are the "
        "pipeline's cached train stages (same keys as `pipeline run` uses for these rows)",
    ]
    if seeds < 3:
        section.notes.append(f"{seeds} seed(s) only (the issue asks for 3): tiny runs are slow "
                             f"while the 2 cores are shared")
    return section


def _options(parser) -> None:
    parser.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")


if __name__ == "__main__":
    cli(measure, __doc__, _options)
