"""`pipeline sweep k|temps|search`: Optuna studies whose trials are the pipeline's train + evaluate.

    pipeline sweep k      [--profile tiny] [--grid GRID]     GridSampler over Table 6's K grid
    pipeline sweep temps  [--profile tiny] [--grid GRID]     GridSampler over Table 7's T^min x T^max grid
    pipeline sweep search --trials N [--pruner hyperband|median|none]
                                                             TPE over (K, T^max, T^min), T^min <= T^max
The grid (or the search's ranges) is the profile's own, as `pipeline run table6 --profile P` trains
it; `--grid paper` covers the paper's full grids in a smaller profile.
Common options: --storage URL (default: optuna.db beside the MLflow SQLite store; a PostgreSQL URL
lets workers on many machines share the study), --study-name, --jobs N (worker processes; more
can join from other shells with the same --storage and --study-name), --timeout S.

Running the same command again resumes the study: finished trials are kept, a dead worker's trial
is retried, only what is missing runs. `optuna-dashboard <storage>` shows the study live.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..sweeps.pruners import PRUNERS
from .run import STORE_DIR, WORK_DIR
from .values import positive_int, positive_seconds


def register(subparsers) -> None:
    parser = subparsers.add_parser("sweep", help="Optuna sweeps over K and T^max/T^min (Tables 6, 7, searches)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("k", "temps", "search"))
    parser.add_argument("--profile", choices=("smoke", "tiny", "paper"), default="tiny",
                        help="where trials train: smoke (tests), tiny (default, CPU), paper (GPUs)")
    parser.add_argument("--grid", choices=("paper", "tiny", "smoke"),
                        help="whose grid of experiments/tables.py to cover (k, temps) or span (search); "
                             "default: the --profile's own (its Tables 6 and 7)")
    parser.add_argument("--trials", type=positive_int, help="search: trials in the whole study (all workers together)")
    parser.add_argument("--pruner", choices=PRUNERS,
                        help="search: prune by per-epoch AP (default: hyperband, which wasted fewer epochs than "
                             "median in benchmarks/bench_sweep.py)")
    parser.add_argument("--storage", help="Optuna storage URL (default: sqlite optuna.db beside the MLflow store)")
    parser.add_argument("--study-name", help="default: <kind>-<profile>[-grid-<grid>][-<pruner>]")
    parser.add_argument("--jobs", "--n-jobs", dest="jobs", type=positive_int, default=1,
                        help="worker processes on this machine (as `pipeline run --jobs`; --n-jobs is an alias)")
    parser.add_argument("--timeout", type=positive_seconds, help="seconds after which a worker starts no new trial")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed")
    parser.add_argument("--data-root", help="real data (CrowdHuman/ inside); required by --profile paper")
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)")
    parser.add_argument("--out", help="where the summary goes (default: reports/out/<profile>/sweeps/<study>)")
    parser.add_argument("--no-progress", action="store_true", help="no epoch progress bars")
    parser.add_argument("--verbose", action="store_true", help="show mmengine's console log")
    parser.set_defaults(func=sweep_command)


def sweep_command(args) -> int:
    from ..graph import Pipeline
    from ..sweeps.objective import TrainObjective
    from ..sweeps.pruners import pruner_spec
    from ..sweeps.runner import SweepSetup, run_sweep
    from ..sweeps.spaces import make_sweep
    from ..sweeps.storage import check_storage, default_storage, normalize, redact
    from ..tracking import Tracker, TrackingUnavailable, check_reachable, default_tracking_uri

    args.grid = args.grid or args.profile
    try:
        sweep = make_sweep(args.kind, args.profile, args.grid)
        if sweep.is_grid and (args.pruner or args.trials):
            raise ValueError("grid sweeps train every point to the end (they are the rows of Tables 6 and 7): "
                             "--pruner and --trials are for `pipeline sweep search`")
        pruner = None if sweep.is_grid else (args.pruner or "hyperband")
        uri = args.tracking_uri or default_tracking_uri()
        storage = normalize(args.storage) if args.storage else default_storage(uri)
        check_storage(storage)
        check_reachable(uri)
        name = args.study_name or "-".join(filter(None, (args.kind, args.profile,
                                                         f"grid-{args.grid}" if args.grid != args.profile else "", pruner)))
        spec = pruner_spec(pruner, sweep.max_epochs()) if pruner else None
        Pipeline(args.profile, data_root=args.data_root)  # checks profile and --data-root early
        setup = SweepSetup(kind=args.kind, profile=args.profile, storage=storage, study_name=name, tracking_uri=uri,
                           grid=args.grid, pruner=spec, trials=args.trials, timeout=args.timeout, seed=args.seed)
        objective = TrainObjective(storage=storage, study_name=name, pruner=spec, tracker=Tracker(uri, args.profile),
                                   store_root=STORE_DIR, work_root=WORK_DIR, data_root=args.data_root,
                                   settings={"progress": not args.no_progress, "quiet": not args.verbose})
        out = Path(args.out or Path("reports") / "out" / args.profile / "sweeps" / name).resolve()
        print(f"sweep {name}: {sweep.kind} over {sweep.describe()['space']} in profile {args.profile}; "
              f"storage {redact(storage)}", flush=True)
        result = run_sweep(setup, objective, n_jobs=args.jobs, out_dir=out)
    except (ValueError, FileNotFoundError, TrackingUnavailable) as exc:
        print(f"pipeline sweep: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\npipeline sweep: interrupted; the running trials are queued again: run the same command to resume",
              file=sys.stderr)
        return 130
    counts = ", ".join(f"{n} {state.lower()}" for state, n in result["counts"].items() if n)
    print(f"\nstudy {name}: {counts}; {result['epochs']} epochs trained"
          + ("" if result["finished"] else " (not finished: run the same command to resume)"))
    if result["best"]:
        best = result["best"]
        print(f"best:    trial {best['trial']}, AP {best['value']:.4f} ({100 * best['value']:.2f} %), {best['params']}")
    for note in result["notes"]:
        print(f"plot:    {note}")
    print(f"table:   {result['table'][0]}")
    print(f"MLflow:  {redact(uri)} (parent run {result['parent_run_id']}; open: mlflow ui --backend-store-uri "
          f"{redact(uri)})")
    print(f"Optuna:  optuna-dashboard {redact(storage)}")
    return 1 if result["errors"] else 0
