"""Workers of a sweep: each asks the shared study for a trial, runs it, tells the result, repeats.

`run_sweep(setup, objective, n_jobs)` creates the study (or resumes it: same name, same storage)
and its MLflow parent run, runs `n_jobs` workers (this process, or `n_jobs` spawned processes),
then writes the summary into the parent run. More workers may join from other shells or machines
with the same `--storage` and `--study-name`: a worker only needs the study.

A worker's loop (`work`) is Optuna's ask-and-tell, spelled out because two things must happen
between "is work left?" and "create the trial" with no other worker in between (`storage_lock`):
- grid sweeps stop when every point has been started, rather than letting GridSampler hand an
  unfinished point to a second worker;
- a search runs `trials` trials in the whole study, whatever the number of workers, and a resumed
  search runs only the missing ones.
Trials of dead workers are failed by heartbeat and queued again (see `storage`); a queued trial is
what `study.ask()` returns first. A finished trial (complete, pruned or failed) is never re-run.

The objective is any picklable `objective(trial, sweep, params) -> {"value": ..., "metrics": ...}`
raising `optuna.TrialPruned` when pruned: `TrainObjective` trains, tests pass fakes.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from . import summary
from .mlflow_runs import SweepRuns
from .pruners import build_pruner
from .spaces import Sweep, make_sweep
from .storage import GRACE_PERIOD, HEARTBEAT_INTERVAL, fail_stale_trials, heartbeat, open_storage, redact, storage_lock

PARENT_RUN = "mlflow_parent_run_id"  # study user attribute
OBJECTIVE = "AP"  # the objective's name: validation AP as a fraction, as MLflow's `AP` metric
PARENT_WAIT_SECONDS = 60


@dataclass(frozen=True)
class SweepSetup:
    """Everything a worker needs (plain data: it crosses process boundaries)."""

    kind: str
    profile: str
    storage: str
    study_name: str
    tracking_uri: str
    grid: str = "paper"
    pruner: dict | None = None
    trials: int | None = None  # search budget for the whole study
    timeout: float | None = None  # seconds per worker; no new trial starts after it
    seed: int = 0
    startup_trials: int = 4  # TPE's random start
    heartbeat_interval: int = HEARTBEAT_INTERVAL
    grace_period: int = GRACE_PERIOD
    max_retry: int = 2  # re-runs of a trial whose worker died

    def sweep(self) -> Sweep:
        return make_sweep(self.kind, self.profile, self.grid)

    def runs(self, sweep: Sweep) -> SweepRuns:
        from ..tracking import Tracker
        return SweepRuns(Tracker(self.tracking_uri, self.profile), sweep, self.study_name, redact(self.storage))


def sampler(setup: SweepSetup, sweep: Sweep, worker: int):
    """GridSampler over the table's grid (same seed in every worker, as Optuna advises), or TPE
    (a different seed per worker, and constant liar so parallel workers spread out)."""
    import optuna
    if sweep.is_grid:
        return optuna.samplers.GridSampler(sweep.grid(), seed=setup.seed)
    return optuna.samplers.TPESampler(seed=setup.seed + worker, n_startup_trials=setup.startup_trials,
                                      constant_liar=True)


class AbandonedTrials:
    """The storage's stale-trial callback: mark the trial's MLflow run, then queue it again."""

    def __init__(self, runs: SweepRuns, max_retry: int):
        import optuna
        from optuna.storages import RetryHeartbeatStaleTrialCallback
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.runs, self.retry = runs, RetryHeartbeatStaleTrialCallback(max_retry=max_retry)

    def __call__(self, study, frozen, reason: str = "its worker stopped sending heartbeats (killed?)") -> None:
        self.runs.trial_abandoned(frozen, f"abandoned: {reason}; queued again")
        self.retry(study, frozen)


def _open(setup: SweepSetup, sweep: Sweep, runs: SweepRuns, worker: int):
    import optuna

    abandoned = AbandonedTrials(runs, setup.max_retry)
    storage = open_storage(setup.storage, on_stale=abandoned, heartbeat_interval=setup.heartbeat_interval,
                           grace_period=setup.grace_period)
    study = optuna.load_study(study_name=setup.study_name, storage=storage, sampler=sampler(setup, sweep, worker),
                              pruner=build_pruner(setup.pruner))
    return storage, study, abandoned


def open_study(setup: SweepSetup, sweep: Sweep, runs: SweepRuns) -> tuple[object, str]:
    """Create the study and its MLflow parent run, or resume both; returns (study, parent run id).

    Creating is race-free: the storage refuses a second study of the same name, so exactly one
    worker creates the parent run and the others wait for its id. A resumed study must have been
    created for the same sweep, grid and pruner (else the error says what differs).
    """
    import optuna

    storage = open_storage(setup.storage, heartbeat_interval=setup.heartbeat_interval,
                           grace_period=setup.grace_period)
    described = {**sweep.describe(), "pruner": setup.pruner}
    try:
        study = optuna.create_study(study_name=setup.study_name, storage=storage, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=setup.study_name, storage=storage)
        deadline = time.monotonic() + PARENT_WAIT_SECONDS
        while PARENT_RUN not in study.user_attrs:
            if time.monotonic() > deadline:
                raise RuntimeError(f"study {setup.study_name!r} in {redact(setup.storage)} has no MLflow parent run "
                                   f"after {PARENT_WAIT_SECONDS} s; was it created by `pipeline sweep`?") from None
            time.sleep(1)
        stored = study.user_attrs.get("sweep")
        if stored != described:
            raise ValueError(f"study {setup.study_name!r} in {redact(setup.storage)} was created for {stored}, "
                             f"not {described}; resume it with the same options or pick another --study-name") from None
        runs.reopen_parent(study.user_attrs[PARENT_RUN])
        return study, study.user_attrs[PARENT_RUN]
    study.set_user_attr("sweep", described)
    with warnings.catch_warnings():  # experimental in Optuna 4
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([OBJECTIVE])  # optuna-dashboard and the plots say "AP", not "Objective 0"
    parent = runs.create_parent()
    study.set_user_attr(PARENT_RUN, parent)
    return study, parent


def has_work(study, sweep: Sweep, budget: int | None) -> bool:
    """A queued trial, a grid point no trial has started, or search budget left."""
    from optuna.trial import TrialState
    trials = study.get_trials(deepcopy=False)
    if any(t.state == TrialState.WAITING for t in trials):
        return True
    if sweep.is_grid:
        size = math.prod(len(values) for values in sweep.grid().values())
        return bool(set(range(size)) - {t.system_attrs.get("grid_id") for t in trials})
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    return sum(t.number not in retried for t in trials) < (budget or 0)


def work(setup: SweepSetup, objective: Callable, worker: int = 0, log: Callable[[str], None] = print) -> int:
    """One worker: run trials until the study has no work left or `setup.timeout` passed."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    sweep = setup.sweep()
    runs = setup.runs(sweep)
    storage, study, abandoned = _open(setup, sweep, runs, worker)
    parent = study.user_attrs[PARENT_RUN]
    started, ran = time.monotonic(), 0
    while setup.timeout is None or time.monotonic() - started < setup.timeout:
        fail_stale_trials(study)
        with storage_lock(setup.storage, f"ask {setup.study_name}"):
            if not has_work(study, sweep, setup.trials):
                break
            with warnings.catch_warnings():  # "heartbeat is supposed to be used with optimize": we beat ourselves
                warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
                trial = study.ask()
            storage.record_heartbeat(trial._trial_id)  # from here on, a dead worker's trial is found stale
            params = sweep.suggest(trial)
        with heartbeat(storage, trial._trial_id):
            run_trial(study, storage, trial, sweep, params, objective, runs, parent, abandoned, log)
        ran += 1
    return ran


def tell(study, trial, value: float | None = None, state=None) -> None:
    """`study.tell`, minus GridSampler's `study.stop()` after the last point, which raises outside
    `optimize` (Optuna documents this for ask-and-tell) once the trial is already stored."""
    try:
        study.tell(trial, value, state=state)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise


def run_trial(study, storage, trial, sweep: Sweep, params: dict, objective: Callable, runs: SweepRuns,
              parent: str, abandoned: AbandonedTrials, log: Callable[[str], None]) -> None:
    import optuna
    from optuna.trial import TrialState

    inherited = (summary.ERROR, summary.PRUNED_AT, summary.METRICS, summary.DATA, summary.TRAIN_RUN, summary.EVALUATE_RUN)
    for stale in inherited:  # a queued retry starts with its original's user attributes
        if trial.user_attrs.get(stale) is not None:
            trial.set_user_attr(stale, None)
    retry_of = storage.get_trial(trial._trial_id).system_attrs.get("failed_trial")
    child = runs.trial_started(parent, trial.number, params, retry_of)
    trial.set_user_attr(summary.MLFLOW_RUN, child)
    clock = time.monotonic()
    result, state, error = None, TrialState.COMPLETE, None
    try:
        result = objective(trial, sweep, params)
    except optuna.TrialPruned as exc:
        state, error = TrialState.PRUNED, str(exc)
    except KeyboardInterrupt:
        tell(study, trial, state=TrialState.FAIL)
        abandoned(study, storage.get_trial(trial._trial_id), reason="interrupted")
        raise
    except Exception as exc:  # recorded in Optuna and MLflow; the sweep goes on
        state, error = TrialState.FAIL, f"{type(exc).__name__}: {exc}"
    # a pruned or failed trial validated every epoch it trained (its pruner read them); a finished one says
    trial.set_user_attr(summary.EPOCHS, (result or {}).get(summary.EPOCHS)
                        or len(storage.get_trial(trial._trial_id).intermediate_values))
    if result is not None:
        for key in (summary.METRICS, summary.DATA, summary.TRAIN_RUN, summary.EVALUATE_RUN):
            if result.get(key) is not None:
                trial.set_user_attr(key, result[key])
        tell(study, trial, float(result["value"]))
    elif state == TrialState.PRUNED:
        tell(study, trial, state=TrialState.PRUNED)
    else:
        trial.set_user_attr(summary.ERROR, error[:5000])
        tell(study, trial, state=TrialState.FAIL)
    frozen = storage.get_trial(trial._trial_id)
    runs.trial_finished(child, frozen, curve=(result or {}).get("curve"), steps=(result or {}).get("curve_epochs"))
    done = frozen.value is not None and state == TrialState.COMPLETE
    value = f" AP {frozen.value:.4f} ({100 * frozen.value:.2f} %)" if done else ""
    log(f"trial {trial.number:3d} {frozen.state.name:8} {params}{value} "
        f"({frozen.user_attrs.get(summary.EPOCHS, 0)} epochs, {time.monotonic() - clock:.0f} s)"
        + (f": {error}" if error else ""))


def _spawned_worker(setup: SweepSetup, objective: Callable, worker: int) -> None:
    work(setup, objective, worker, log=lambda line: print(f"[worker {worker}] {line}", flush=True))


def run_sweep(setup: SweepSetup, objective: Callable, n_jobs: int = 1, out_dir: Path | None = None,
              log: Callable[[str], None] = print) -> dict:
    """Create or resume the study, run `n_jobs` workers to the end, summarise into MLflow."""
    from optuna.trial import TrialState

    if n_jobs < 1:
        raise ValueError(f"--n-jobs must be at least 1, got {n_jobs}")
    if not setup.storage.startswith(("sqlite:///", "postgresql")):
        raise ValueError(f"--storage {redact(setup.storage)}: expected sqlite:///<file> or postgresql://...")
    sweep = setup.sweep()
    if not sweep.is_grid and not setup.trials:
        raise ValueError("a search needs --trials N (the study's total number of trials)")
    runs = setup.runs(sweep)
    study, parent = open_study(setup, sweep, runs)
    if n_jobs == 1:
        work(setup, objective, 0, log)
    else:
        context = get_context("spawn")
        workers = [context.Process(target=_spawned_worker, args=(setup, objective, i), name=f"sweep-worker-{i}")
                   for i in range(n_jobs)]
        for process in workers:
            process.start()
        for process in workers:
            process.join()
        crashed = [f"{p.name} (exit code {p.exitcode})" for p in workers if p.exitcode != 0]
        if crashed:
            log(f"workers that did not finish cleanly: {', '.join(crashed)}; their trials are retried at the next start")
    result = runs.summarize(parent, study, out_dir)
    trials = study.get_trials(deepcopy=False)
    finished = not has_work(study, sweep, setup.trials) and not any(t.state == TrialState.RUNNING for t in trials)
    runs.close_parent(parent, finished)
    counts = {state.name: sum(t.state == state for t in trials) for state in
              (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING)}
    errors = sum(t.state == TrialState.FAIL and bool(t.user_attrs.get(summary.ERROR)) for t in trials)
    return {**result, "parent_run_id": parent, "study": study, "counts": counts, "errors": errors, "finished": finished,
            "epochs": summary.epochs_spent(study)}
