"""Does a pruned search pay? Epochs a TPE search spends before it first finds a configuration
within 0.3 AP of the K x T grid's best, over many seeds of the search itself.

    .venv/bin/python -m benchmarks.bench_sweep [--quick] [--profile tiny] [--t-max 0.6,0.7]
                     [--t-min 0.2,0.4] [--search-seeds 10] [--pruners hyperband,median,none]
                     [--tolerances 0.3,1.0] [--jobs 2] [--workdir DIR]

Two steps.

1. Record. Every point of the grid (DSLA + FS on CrowdHuman; K over the profile's Table 6 grid,
   times `--t-max` x `--t-min`) is trained and evaluated by the pipeline itself, validated after
   every epoch as a pruned search's trials are (`curves="all"`), `--jobs` trainings at once, in
   `--workdir`'s results store (`DIR/.pipeline`, `DIR/work_dirs`, data under `DIR/data`). Point
   `--workdir` at a folder where `pipeline run reproduce-tables` ran and the trainings it already
   has (Figure 4's DSLA + FS run is the point K 6, T 0.6 -> 0.4) are reused, as any run reuses them.
   The grid costs points x epochs: that is the 100 % the searches are measured against.

2. Replay. Each search is an Optuna study configured as `pipeline sweep search` configures it
   (TPESampler with the search seed, 4 random start trials, constant liar; the pruner from
   `pipeline.sweeps.pruners`), over the same grid's values, whose objective reads the recorded
   training instead of running it: it reports the recorded validation AP of each epoch the trial
   trains, asks the pruner after each, and returns the recorded evaluation AP. That is what the
   live search does with every training served from the pipeline's cache (same point, same key,
   same seeded training), with the live pipeline's epoch accounting: a point trained to the end
   before costs nothing; a pruned point asked again resumes from its checkpoint, so it pays, and
   reports (as `OptunaPruningHook` does after a resume), only the epochs after the ones it had.
   Replays cost seconds, so the search is measured over `--search-seeds` seeds, not one.

Printed: the grid (each point's final AP and epochs), and per search (a pruner, or none; random
search and GridSampler's shuffled order as references) the distribution over seeds of the epochs
spent until a trial first completed within 0.3 AP of the grid's best (and within each other
`--tolerances` value), as a share of the grid's epochs. Goal (the scale issue): median share
<= 40 % at 0.3 AP. A search that never gets there within
`MAX_TRIALS_PER_POINT` x points trials counts as not reaching it (an infinite share).

What it does not show: the live search over continuous T ranges (`pipeline sweep search`) can
propose points off this grid; the replay keeps to the grid, whose every point was trained once
(one training seed: the grid's best is itself uncertain by about the evaluation noise, see
`benchmarks/bench_eval_noise.py`). `--quick`: the smoke profile (2-epoch trainings on 24
images), mechanics only.
"""
from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .common import Goal, Section, cli

AP_TOLERANCE = 0.3  # AP points
EPOCH_SHARE = 0.4
STARTUP_TRIALS = 4  # as pipeline.sweeps.runner.SweepSetup.startup_trials
MAX_TRIALS_PER_POINT = 3  # a search's trial budget: this many trials per grid point


@dataclass(frozen=True)
class Point:
    """One grid point's recorded training: validation AP after each epoch (epoch 1 first) and the
    evaluation AP of the final model, both in AP points."""

    params: tuple[tuple[str, float], ...]  # (("K", 6), ("t_max", 0.6), ("t_min", 0.4))
    curve: tuple[float, ...]
    final: float


@dataclass
class Trace:
    """One replayed search: after each finished trial, the epochs spent so far and the trial's
    value (None if pruned)."""

    steps: list[tuple[int, float | None]] = field(default_factory=list)

    def epochs_to(self, target: float) -> float:
        """Epochs spent when a trial first completed at or above `target` (inf: never)."""
        return next((spent for spent, value in self.steps if value is not None and value >= target), math.inf)


# ------------------------------------------------------------------------------------- record
def grid_values(profile: str, t_max: tuple[float, ...], t_min: tuple[float, ...]) -> dict[str, tuple]:
    from experiments import tables as defs
    if any(low > high for low in t_min for high in t_max):
        raise ValueError(f"--t-min {t_min} / --t-max {t_max}: every T^min must be <= every T^max (eq. 4)")
    return {"K": tuple(sorted(defs.GRIDS[profile].K)), "t_max": tuple(sorted(t_max)), "t_min": tuple(sorted(t_min))}


def grid_runs(values: dict[str, tuple]) -> list:
    import itertools

    from experiments import tables as defs
    return [defs.Train("crowdhuman", "dsla_fs", K=k, t_max=high, t_min=low)
            for k, high, low in itertools.product(values["K"], values["t_max"], values["t_min"])]


def record(profile: str, values: dict[str, tuple], workdir: Path, jobs: int) -> list[Point]:
    """Train + evaluate every grid point through the pipeline (cached like any run) in `workdir`;
    their recorded curves."""
    from pipeline.engine import run as run_nodes
    from pipeline.engine.store import ResultStore
    from pipeline.graph import Pipeline

    runs = grid_runs(values)
    here = os.getcwd()
    os.chdir(workdir)  # keys, data and work dirs are relative to the working directory, as for `pipeline run`
    try:
        pipeline, store = Pipeline(profile, curves="all"), ResultStore(".pipeline")
        nodes = [pipeline.evaluate(run) for run in runs]
        settings = {"progress": False, "quiet": True}  # threads: fixed per stage (pipeline.runtime.resources)
        report = run_nodes(nodes, store, work_root="work_dirs", jobs=jobs, settings=settings)
        points = []
        for run, node in zip(runs, nodes):
            outcome = report.outcomes[node.key]
            if outcome.result is None:
                raise RuntimeError(f"{node.name}: {outcome.status}: {outcome.error}")
            epochs = store.load(pipeline.train(run).key).result["epochs"]
            curve = [100 * e["AP"] for e in epochs if "AP" in e]
            if len(curve) != len(epochs):
                raise RuntimeError(f"{node.name}: validated after {len(curve)} of {len(epochs)} epochs; "
                                   "the replay needs every epoch")
            points.append(Point((("K", run.K), ("t_max", run.t_max), ("t_min", run.t_min)), tuple(curve),
                                100 * outcome.result["metrics"]["AP"]))
        return points
    finally:
        os.chdir(here)


# ------------------------------------------------------------------------------------- replay
def _suggest(trial, name: str, values: tuple):
    """The knob as the live search asks for it: an int or a stepped float over evenly spaced
    values, a category otherwise."""
    steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
    if len(values) == 1:
        return values[0]
    if len(steps) == 1:
        step = steps.pop()
        if all(isinstance(v, int) for v in values):
            return trial.suggest_int(name, values[0], values[-1], step=int(step))
        return round(trial.suggest_float(name, values[0], values[-1], step=step), 6)
    return trial.suggest_categorical(name, list(values))


def grid_of(points: list[Point]) -> dict[str, tuple]:
    names = [name for name, _ in points[0].params]
    return {name: tuple(sorted({dict(p.params)[name] for p in points})) for name in names}


def make_sampler(kind: str, seed: int, points: list[Point]):
    """TPE as `pipeline sweep search` configures it, random search, or GridSampler's shuffled order."""
    import optuna
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS, constant_liar=True)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler({n: list(v) for n, v in grid_of(points).items()}, seed=seed)
    raise ValueError(f"unknown sampler {kind!r}; expected tpe, random or grid")


def replay(points: list[Point], sampler, pruner: dict | None, name: str, trials: int) -> Trace:
    """One search over the recorded grid (at most `trials` trials, and never more than the grid's
    points with a GridSampler); see the module docstring for the accounting. `name` is the study's:
    Hyperband puts a trial in a bracket by a checksum of the study's name and the trial's number,
    so the name is part of the search's seed (an unnamed in-memory study gets a random one)."""
    import optuna

    from pipeline.sweeps.pruners import build_pruner
    from pipeline.sweeps.runner import tell

    values = grid_of(points)
    by_params = {tuple(round(v, 6) for _, v in p.params): p for p in points}
    study = optuna.create_study(study_name=name, direction="maximize", sampler=sampler, pruner=build_pruner(pruner))
    if isinstance(sampler, optuna.samplers.GridSampler):
        trials = min(trials, len(points))
    trained: dict[tuple, int] = {}  # the epochs each point has a checkpoint of
    trace, spent = Trace(), 0
    for _ in range(trials):
        trial = study.ask()
        key = tuple(round(float(_suggest(trial, n, v)), 6) for n, v in values.items())
        point, pruned = by_params[key], False
        for epoch in range(trained.get(key, 0) + 1, len(point.curve) + 1):
            spent += 1
            trained[key] = epoch
            trial.report(point.curve[epoch - 1] / 100, epoch)
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            tell(study, trial, state=optuna.trial.TrialState.PRUNED)
            trace.steps.append((spent, None))
        else:
            tell(study, trial, point.final / 100)
            trace.steps.append((spent, point.final))
    return trace


# ----------------------------------------------------------------------------------- measure
def shares(traces: list[Trace], target: float, grid_epochs: int) -> list[float]:
    return [trace.epochs_to(target) / grid_epochs for trace in traces]


def _share(value: float) -> str:
    return f"{value:.2f}" if value < 1e8 else "never"


def describe(values: list[float]) -> tuple[str, str, str, str]:
    """median, interquartile range, min–max (as shares of the grid's epochs), and how many
    reached the goal's share."""
    finite = [v for v in values if math.isfinite(v)]
    never = 1e9  # stands in for "never" while interpolating quartiles (inf * 0 would be nan)
    low, _, high = (statistics.quantiles([min(v, never) for v in values], n=4) if len(values) > 1
                    else (values[0],) * 3)
    median = statistics.median(values)
    within = sum(v <= EPOCH_SHARE for v in values)
    return (_share(median), f"{_share(low)}–{_share(high)}",
            f"{_share(min(values))}–{_share(max(values))}" + ("" if len(finite) == len(values) else
                                                              f" ({len(values) - len(finite)} never)"),
            f"{within} of {len(values)}")


def measure(quick: bool = False, profile: str = "tiny", t_max: str = "0.6,0.7", t_min: str = "0.2,0.4",
            search_seeds: int = 10, pruners: str = "hyperband,median,none", tolerances: str = "0.3,1.0",
            jobs: int = 2, workdir: str | None = None) -> Section:
    import optuna

    from pipeline.sweeps.pruners import pruner_spec

    if quick:
        profile, t_max, t_min, search_seeds = "smoke", "0.6", "0.2,0.4", 3
    command = (f".venv/bin/python -m benchmarks.bench_sweep --profile {profile} --t-max {t_max} --t-min {t_min} "
               f"--search-seeds {search_seeds} --pruners {pruners} --tolerances {tolerances}"
               + (" --quick" if quick else ""))
    section = Section("7. Sweeps: pruned TPE search vs the K x T grid, over search seeds", command)
    values = grid_values(profile, tuple(float(v) for v in t_max.split(",")),
                         tuple(float(v) for v in t_min.split(",")))
    root = Path(workdir or Path("work_dirs") / "bench_sweep").resolve()
    root.mkdir(parents=True, exist_ok=True)
    points = record(profile, values, root, jobs)

    epochs = len(points[0].curve)
    grid_epochs = epochs * len(points)
    best = max(points, key=lambda p: p.final)
    section.table(("K", "T^max", "T^min", "final AP", "AP after each epoch (validation subset)"),
                  [(*(v for _, v in p.params), f"{p.final:.2f}", " ".join(f"{a:.1f}" for a in p.curve))
                   for p in sorted(points, key=lambda p: -p.final)])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = MAX_TRIALS_PER_POINT * len(points)
    studies = [(f"TPE + {name}" if name != "none" else "TPE, no pruning", "tpe", pruner_spec(name, epochs))
               for name in pruners.split(",")]
    studies += [("random, no pruning", "random", None), ("grid, shuffled (GridSampler)", "grid", None)]
    traces = {label: [replay(points, make_sampler(sampler, seed, points), pruner, f"search-seed{seed}", trials)
                      for seed in range(search_seeds)] for label, sampler, pruner in studies}
    for tolerance in sorted({AP_TOLERANCE, *(float(t) for t in str(tolerances).split(",") if t)}):
        target = best.final - tolerance
        near = sum(p.final >= target for p in points)
        rows = []
        for label, sampler, pruner in studies:
            found = shares(traces[label], target, grid_epochs)
            rows.append((label, *describe(found)))
            if tolerance == AP_TOLERANCE and sampler == "tpe" and pruner is not None:
                median = statistics.median(found)
                section.goals.append(Goal(f"{label}: epochs to the grid's best - {AP_TOLERANCE} AP / grid epochs, "
                                          f"median over {search_seeds} search seeds",
                                          f"{median:.2f}" if math.isfinite(median) else "never",
                                          f"<= {EPOCH_SHARE:.2f}", median <= EPOCH_SHARE))
        section.text(f"Until a completed trial within **{tolerance:g} AP** of the grid's best "
                     f"({near} of {len(points)} points qualify){' — the goal' if tolerance == AP_TOLERANCE else ''}:")
        section.table(("search", "median share of grid epochs", "IQR", "min–max",
                       f"seeds within {EPOCH_SHARE:.0%}"), rows)
    finals = [p.final for p in points]
    section.notes.append(f"profile {profile}: {len(points)} points x {epochs} epochs = {grid_epochs} grid epochs; "
                         f"the grid's best is K {dict(best.params)['K']}, T {dict(best.params)['t_max']} -> "
                         f"{dict(best.params)['t_min']} at {best.final:.2f} AP; the final APs span "
                         f"{min(finals):.2f}–{max(finals):.2f} (one training each)")
    section.notes.append(f"each search: up to {trials} trials, seeds 0..{search_seeds - 1}; shares are epochs "
                         "trained until the first completed trial within the tolerance, / grid epochs "
                         "(never: not within the search's trials)")
    if quick:
        section.notes.append("--quick: smoke profile (2-epoch trainings on 24 images), mechanics only")
    return section


def _options(parser) -> None:
    parser.add_argument("--profile", default="tiny", choices=("smoke", "tiny", "paper"))
    parser.add_argument("--t-max", default="0.6,0.7", help="T^max values of the grid (comma-separated)")
    parser.add_argument("--t-min", default="0.2,0.4", help="T^min values of the grid (comma-separated)")
    parser.add_argument("--search-seeds", type=int, default=10, help="seeds of each search (replays)")
    parser.add_argument("--pruners", default="hyperband,median,none",
                        help="comma-separated: hyperband, median, none (TPE with each)")
    parser.add_argument("--tolerances", default="0.3,1.0",
                        help=f"AP points below the grid's best that count as found (the goal: {AP_TOLERANCE})")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once while recording the grid")
    parser.add_argument("--workdir", help="results store, data and work dirs of the grid's trainings "
                                          "(default work_dirs/bench_sweep; kept, so a re-run reuses them)")


if __name__ == "__main__":
    cli(measure, __doc__, _options)
