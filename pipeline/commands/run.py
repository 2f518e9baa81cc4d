"""`pipeline run <target>`, `pipeline status`, `pipeline report`: the DAG from the command line.

    pipeline run reproduce-tables [--profile smoke|tiny|paper] [--data-root DIR]
                 [--tracking-uri URI] [--seeds N] [--jobs N] [--dry-run]
    pipeline status [<target>] [--profile ...]      done / failed / running / missing per stage
    pipeline report [--profile ...]                 re-render reports/out/<profile>/ from results

Targets: reproduce-tables (everything), table1 .. table8, figure4.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .. import engine
from ..engine import interrupts
from ..engine.store import DONE, ResultStore
from ..redact import redact
from ..runtime.launch import LAUNCHERS
from .values import at_least, positive_int

STORE_DIR, WORK_DIR = ".pipeline", "work_dirs"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=("smoke", "tiny", "paper"),
                        help="scale: smoke (tests, seconds), tiny (CPU, about an hour), paper (GPUs); default: tiny for "
                             "`run`, the profile last run in this folder for `status` and `report`")
    parser.add_argument("--data-root", help="real data (CrowdHuman/ and coco/ inside); required by --profile paper")
    parser.add_argument("--seeds", type=positive_int, default=None,
                        help="seeds of the runs behind the paper's claims (Table 4, Figure 4; other grid points "
                             "train one); tables show mean ± std (default: 3 on tiny, 1 on smoke and paper)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)")
    parser.add_argument("--report-dir", help="where the report goes (default: reports/out/<profile>)")
    parser.add_argument("--tables", action="append", default=[], metavar="FILE",
                        help="a rows file of your own (ROWS = {'table4': [Row(...)]}, see docs/ablations.md): its "
                             "rows join the tables; repeatable")
    parser.add_argument("--row", action="append", default=[], metavar="NAME=BASE[:KEY=VALUE]...",
                        help="one row of your own: base variant plus config overrides (mmengine --cfg-options keys), "
                             "e.g. prior=baseline:model.bbox_head.assigner.type=OneToOneAssigner; joins the target "
                             "table (table4 for reproduce-tables and figure4); repeatable")


def register(subparsers) -> None:
    run = subparsers.add_parser("run", help="bring a target up to date (train, evaluate, tables, report)",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("target", help="reproduce-tables, table1..table8 or figure4")
    _common(run)
    run.add_argument("--jobs", type=positive_int, default=None,
                     help="run up to N independent stages in parallel processes (default: one per CPU core "
                          "for the CPU profiles smoke and tiny, 1 for paper)")
    run.add_argument("--dry-run", action="store_true", help="list the stages that would run, and why")
    run.add_argument("--launcher", choices=LAUNCHERS, default="none",
                     help="how training runs: in this process, torchrun (pytorch) or Slurm")
    run.add_argument("--nproc", type=positive_int, default=1,
                     help="processes per training: torchrun workers (--launcher pytorch), or Slurm tasks of a "
                          "training without GPUs (--launcher slurm --gpus 0)")
    run.add_argument("--gpus", type=at_least(0), default=None,
                     help="GPUs per training with --launcher slurm, one task each (default: 1 for --profile paper; "
                          "0 for smoke and tiny, which asks for CPU tasks and no --gres)")
    run.add_argument("--slurm-partition", help="Slurm partition for --launcher slurm (required with it)")
    run.add_argument("--slurm-cpus-per-task", type=positive_int, default=None,
                     help="CPUs per Slurm task (default: 5 with GPUs, as mmdet's slurm_train.sh; without GPUs "
                          "the threads a training computes with, pipeline/runtime/resources.py)")
    run.add_argument("--srun-arg", action="append", default=[], metavar="ARG",
                     help="an extra srun argument, repeatable: --srun-arg=--time=2:00:00 --srun-arg=--account=lab")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--verbose", action="store_true", help="show mmengine's console log (it is always in the run's log file)")
    run.set_defaults(func=run_command)

    status = subparsers.add_parser("status", help="what is done, cached, running or failed")
    status.add_argument("target", nargs="?", default="reproduce-tables")
    _common(status)
    status.set_defaults(func=status_command)

    report = subparsers.add_parser("report", help="re-render the report from recorded results only")
    _common(report)
    report.set_defaults(func=report_command)


LAST_PROFILE = "last_profile"  # in STORE_DIR: the profile `pipeline run` last used in this folder
LAST_SEEDS = "last_seeds"  # in STORE_DIR: "<profile> <seeds>", the --seeds of that run (if given)


def last_profile(store_dir: str = STORE_DIR) -> str | None:
    try:
        text = (Path(store_dir) / LAST_PROFILE).read_text().strip()
    except OSError:
        return None
    return text if text in ("smoke", "tiny", "paper") else None


def last_seeds(profile: str, store_dir: str = STORE_DIR) -> int | None:
    """The --seeds `pipeline run` last used here with `profile`, if it gave one."""
    try:
        name, seeds = (Path(store_dir) / LAST_SEEDS).read_text().split()
        return int(seeds) if name == profile and int(seeds) > 0 else None
    except (OSError, ValueError):
        return None


def remember_run(args, store_dir: str = STORE_DIR) -> None:
    """What `status` and `report` default to afterwards: this run's profile and seeds."""
    Path(store_dir).mkdir(parents=True, exist_ok=True)
    (Path(store_dir) / LAST_PROFILE).write_text(args.profile + "\n")
    seeds = Path(store_dir) / LAST_SEEDS
    if args.seeds is None:
        seeds.unlink(missing_ok=True)
    else:
        seeds.write_text(f"{args.profile} {args.seeds}\n")


def _choose_profile(args, command: str) -> str:
    """`run` defaults to tiny; `status` and `report` to the profile (and --seeds) last run here.
    Returns a line naming the profile and seeds and why they are the ones."""
    if args.profile is not None:
        line = f"profile {args.profile} (--profile)"
    else:
        last = last_profile() if command != "run" else None
        args.profile = last or "tiny"
        why = ("the profile `pipeline run` last used in this folder" if last else
               "the default" + ("" if command == "run" else ": nothing has run in this folder"))
        line = f"profile {args.profile} ({why}; choose another with --profile)"
    if command != "run" and args.seeds is None and (seeds := last_seeds(args.profile)) is not None:
        args.seeds = seeds
        line += f", {seeds} seeds (the --seeds `pipeline run` last used with it here; choose with --seeds)"
    return line


def _pipeline(args):
    from ..graph import Pipeline
    return Pipeline(args.profile, data_root=args.data_root, seeds=args.seeds, rows=user_rows(args))


def user_rows(args) -> dict:
    """The rows of `--tables FILE` and `--row SPEC` ({table: [Row]}); a bad one is a ValueError of one line."""
    from experiments import tables as defs

    rows: dict[str, list] = {}
    for path in getattr(args, "tables", []):
        for table, table_rows in defs.load_rows(path).items():
            rows.setdefault(table, []).extend(table_rows)
    paper = defs.tables(args.profile, {})
    target = getattr(args, "target", None)
    table = target if target in paper and any(isinstance(r.source, defs.Train) for r in paper[target].rows) \
        else "table4"
    for text in getattr(args, "row", []):
        rows.setdefault(table, []).append(defs.parse_row(text, paper[table]))
    return rows


def _report_dir(args) -> Path:
    return Path(args.report_dir or Path("reports") / "out" / args.profile).resolve()


def _tracking_uri(args) -> str:
    from ..tracking import default_tracking_uri
    return args.tracking_uri or default_tracking_uri()


def _resolve_target(args, command: str):
    """`(pipeline, target node)`, or None after a one-line error (unknown target, bad profile or data)."""
    try:
        pipeline = _pipeline(args)
        return pipeline, pipeline.target(args.target)
    except (ValueError, FileNotFoundError) as exc:
        print(f"pipeline {command}: {exc}", file=sys.stderr)
        return None


def default_jobs(profile: str) -> int:
    """One single-threaded job per core beats one job with all cores on a small CPU model; the
    paper profile trains on GPUs, one training at a time."""
    return 1 if profile == "paper" else os.cpu_count() or 1


def run_command(args) -> int:
    _choose_profile(args, "run")
    if args.jobs is None:
        args.jobs = default_jobs(args.profile)
    resolved = _resolve_target(args, "run")
    if resolved is None:
        return 2
    pipeline, target = resolved
    store = ResultStore(STORE_DIR)
    items = engine.plan([target], store)
    if args.dry_run:
        for item in items:
            reason = (_resumable(item.node) or item.reason) if item.action == "run" else item.reason
            print(f"{item.action:6} {item.node.name:60} {reason}")
        todo = sum(item.action == "run" for item in items)
        print(f"\n{todo} of {len(items)} stages would run; {len(items) - todo} are cached.")
        return 0

    launcher_settings = _launcher_settings(args)
    if isinstance(launcher_settings, str):
        print(f"pipeline run: {launcher_settings}", file=sys.stderr)
        return 2
    if args.data_root and not Path(args.data_root).is_dir():
        print(f"pipeline run: --data-root {args.data_root}: no such folder", file=sys.stderr)
        return 2
    unwritable = _unwritable([Path(STORE_DIR), Path(WORK_DIR), _report_dir(args)])
    if unwritable:
        print(f"pipeline run: {unwritable}", file=sys.stderr)
        return 2
    from ..tracking import Tracker, TrackingUnavailable, check_reachable
    uri = _tracking_uri(args)
    try:
        check_reachable(uri)
    except TrackingUnavailable as exc:
        print(f"pipeline run: {exc}", file=sys.stderr)
        return 2
    tracker = Tracker(uri, args.profile)
    remember_run(args)
    settings = {**stage_settings(args, launcher_settings), "tracking_uri": uri, "commit": tracker.commit}
    started = time.time()
    interrupts.install_sigterm()  # `kill`/Slurm's SIGTERM stops the workers and launched jobs as Ctrl-C does
    try:
        report = engine.run([target], store, work_root=WORK_DIR, jobs=args.jobs, tracker=tracker,
                            settings=settings, listener=_progress(items, enabled=not args.no_progress, jobs=args.jobs))
    except KeyboardInterrupt:
        signal_name = interrupts.last_signal()
        how = "terminated (SIGTERM)" if signal_name == "SIGTERM" else "interrupted"
        print(f"\npipeline run: {how}; its worker processes and launched jobs were stopped, nothing was recorded "
              "as failed, an interrupted training resumes from its last checkpoint: run the same command to go on",
              file=sys.stderr)
        return 143 if signal_name == "SIGTERM" else 130
    _render(args, pipeline, store, uri, tracker.commit)
    _summary(report, time.time() - started, _report_dir(args), uri)
    return 0 if report.ok else 1


def stage_settings(args, launcher_settings: dict) -> dict:
    """How `pipeline run` runs its stages (`ctx.settings`): never what they compute. No thread
    count: a stage computes with the same threads under any `--jobs` (`pipeline.runtime.resources`)."""
    return {"launcher": args.launcher, "nproc": args.nproc, "progress": not args.no_progress,
            "quiet": not args.verbose, "report_dir": str(_report_dir(args)), **launcher_settings}


def _launcher_settings(args) -> dict | str:
    """The Slurm part of the run's settings, checked against the cluster; or an error line."""
    slurm_only = [option for option, value in (("--gpus", args.gpus), ("--slurm-partition", args.slurm_partition),
                                               ("--slurm-cpus-per-task", args.slurm_cpus_per_task),
                                               ("--srun-arg", args.srun_arg)) if value not in (None, [])]
    if args.launcher != "slurm":
        if slurm_only:
            return f"{', '.join(slurm_only)} only apply to --launcher slurm (the launcher is {args.launcher})"
        return {}
    from ..runtime.launch import SlurmSettingsError, check_slurm

    gpus = args.gpus if args.gpus is not None else (1 if args.profile == "paper" else 0)
    cpus = args.slurm_cpus_per_task  # None: launch.slurm_request's default
    settings = {"gpus": gpus, "partition": args.slurm_partition, "cpus_per_task": cpus,
                "srun_args": list(args.srun_arg)}
    try:
        check_slurm({**settings, "nproc": args.nproc})
    except SlurmSettingsError as exc:
        return str(exc)
    return settings


def _unwritable(folders: list[Path]) -> str | None:
    """The first output folder that could not be created or written to, as an error line; else None.

    Checked on the folder or its nearest existing ancestor, so nothing is created before the run.
    """
    for folder in folders:
        existing = folder.resolve()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            problem = "not a folder" if not existing.is_dir() else "not writable"
            return f"output folder {folder} cannot be written: {existing} is {problem}"
    return None


def _progress(items, enabled: bool, jobs: int = 1):
    """The stages line (`pipeline.runtime.stage_progress`): finished stages printed above it, an
    ETA from the costs measured in this run (a running training's epochs so far). Nothing to run
    (all cached): no line at all. Off (`--no-progress`): only the finished stages."""
    todo = [i.node for i in items if i.action == "run"]

    def finished_line(node, outcome) -> str:
        detail = f" ({redact(outcome.error)})" if outcome.error else ""
        return f"{outcome.status:7} {node.name} {outcome.seconds:.0f}s{detail}"

    if not enabled or not todo:
        def report_only(event, node, outcome):
            if event == "wait":
                print(f"{outcome.error}", file=sys.stderr, flush=True)
            elif event == "finish" and outcome.status != engine.CACHED:
                print(finished_line(node, outcome), file=sys.stderr)
        return report_only
    from ..runtime.stage_progress import StageProgress

    def epochs(node):
        if node.stage.name != "train":
            return None
        from ..stages.train import resume_point
        return resume_point(Path(WORK_DIR) / node.key)

    progress = StageProgress(todo, kind=lambda node: node.stage.name, jobs=jobs, epochs=epochs)
    remaining = set(todo)

    def listener(event, node, outcome):
        if event == "start":
            progress.start(node)
        elif event == "wait":  # another pipeline process holds the node: say so
            print(f"{outcome.error}", file=sys.stderr, flush=True)
        elif outcome.status != engine.CACHED:
            progress.finish(node, finished_line(node, outcome), ran=outcome.status == engine.DONE)
            remaining.discard(node)
            if not remaining:
                progress.close()
    return listener


def _render(args, pipeline, store: ResultStore, uri: str, commit: str) -> Path:
    """Write reports/out/<profile>/ from whatever the store holds for the tables and figure.

    A node without a result under its current key falls back to the last result recorded under
    its name (code or parameters changed since); the report lists those as stale.
    """
    from ..stages.report import write_report

    stale: list[str] = []

    def usable(node, key, record):
        """A record of the wrong shape (its stage's check says what it lacks) is left out of the
        report with one line naming its file, never a KeyError; `pipeline run` runs it again."""
        problem = engine.result_problem(node, record.result)
        if problem:
            print(f"pipeline: {store.result_path(key)}: {node.name}: {problem}; left out of the report",
                  file=sys.stderr)
            return None
        return record.result

    keys: dict[str, str] = {}  # the key each shown result was recorded under (its MLflow run's link)

    def result(node, name=None):
        record = store.load(node.key)
        if record.status == DONE:
            keys[name or node.name] = node.key
            return usable(node, node.key, record)
        last = store.last_run_of(node.name)
        if last and last["status"] == DONE and (old := store.load(last["key"])).status == DONE:
            stale.append(node.name)
            keys[name or node.name] = last["key"]
            return usable(node, last["key"], old)
        return None

    tables = {name: result(pipeline.table(name), name) for name in pipeline.tables}
    out = _report_dir(args)
    write_report(args.profile, tables, result(pipeline.figure4(), "figure4"), out, tracking_uri=uri, commit=commit,
                 qualitative=result(pipeline.qualitative()), stale=stale, keys=keys)
    return out


def _summary(report: engine.RunReport, seconds: float, report_dir: Path, uri: str) -> None:
    counts = {status: len(report.by_status(status)) for status in
              (engine.DONE, engine.CACHED, engine.FAILED, engine.STOPPED, engine.SKIPPED)}
    print(f"\npipeline: {counts['done']} stages ran, {counts['cached']} reused, {counts['failed']} failed, "
          f"{counts['skipped']} skipped, {counts['stopped']} stopped, in {seconds:.0f} s")
    for outcome in report.by_status(engine.FAILED) + report.by_status(engine.SKIPPED):
        print(f"  {outcome.status}: {outcome.node.name}: {redact(outcome.error)}")
    print(f"report:  {report_dir / 'index.md'}")
    print(f"MLflow:  {redact(uri)}   (open: mlflow ui --backend-store-uri {redact(uri)})")


def _resumable(node) -> str | None:
    """"resumable (epoch N of M)" for a training with a checkpoint in its work dir (killed), else None."""
    if node.stage.name != "train":
        return None
    from ..stages.train import resume_point
    point = resume_point(Path(WORK_DIR) / node.key)
    if point is None:
        return None
    return f"resumable (epoch {point[0]} of {point[1] if point[1] is not None else '?'})"


def status_command(args) -> int:
    chosen = _choose_profile(args, "status")
    resolved = _resolve_target(args, "status")
    if resolved is None:
        return 2
    pipeline, target = resolved
    print(f"{args.target}, {chosen}\n")
    store = ResultStore(STORE_DIR)
    counts: dict[str, int] = {}
    for node in engine.in_order([target]):
        record = engine.load_record(node, store)  # a done record its stage's check rejects is incomplete
        status = _resumable(node) if record.status != DONE else None
        status = status or record.status
        counts[status.split(" (")[0]] = counts.get(status.split(" (")[0], 0) + 1
        error = f"  {redact(record.error)}" if record.error else ""
        print(f"{status:10} {node.key} {node.name}{error}")
    print("\n" + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return 0


def report_command(args) -> int:
    print(_choose_profile(args, "report"))
    try:
        pipeline = _pipeline(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"pipeline report: {exc}", file=sys.stderr)
        return 2
    from ..tracking import git_commit
    unwritable = _unwritable([_report_dir(args)])
    if unwritable:
        print(f"pipeline report: {unwritable}", file=sys.stderr)
        return 2
    try:
        out = _render(args, pipeline, ResultStore(STORE_DIR), _tracking_uri(args), git_commit())
    except OSError as exc:  # e.g. the folder became read-only, or the disk is full
        print(f"pipeline report: cannot write the report: {exc.strerror or exc}: {exc.filename or ''}",
              file=sys.stderr)
        return 2
    print(f"report: {out / 'index.md'}")
    return 0
