"""Run the benchmarks and collect their results into ``reports/benchmarks.md``.

    .venv/bin/python -m benchmarks.run_all [--quick] [--only NAME ...] [--seeds 3] [--threads N]

Benchmarks, in the report's order (each also runs alone, see its module):
  train_cost   benchmarks/bench_train_cost.py   DSLA / baseline train step, train / infer FLOPs
  deploy       benchmarks/bench_deploy.py       deployed DSLA vs baseline: params, FLOPs, latency
  assignment   benchmarks/bench_assignment.py   ours vs Hungarian matching, share of a step
  eval_speed   benchmarks/bench_eval_speed.py   our CrowdHuman evaluation vs mmdet's metric
  convergence  benchmarks/bench_convergence.py  epochs to 95 % of the final AP, tiny, seeds
  pipeline     benchmarks/bench_pipeline.py     cached reproduce-tables re-run, loader vs step
  sweep        benchmarks/bench_sweep.py        pruned TPE search vs the K x T grid, over search seeds
  profile      benchmarks/profile_train.py      tiny step phases, top operators, hooks, our loop vs mmdet's
  throughput   benchmarks/bench_throughput.py   tiny train / validation images/s ours vs mmdet vs before, GFLOP/s
  threads      benchmarks/bench_threads.py      2 trainings x 1 thread vs 1 training x 2 threads (measured only)

Sections measured by hand (a cold setup, the whole default run) are kept as Markdown in
``reports/`` (``HAND_MEASURED``) and appended as they are.

The last result of every benchmark is kept in ``work_dirs/benchmarks/results.json``; ``--only``
re-runs some of them and the report is re-written from all kept results, each section with the
date, machine and load it was measured under. A benchmark that fails is reported as failed and
the others still run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

from . import (
    bench_assignment,
    bench_convergence,
    bench_deploy,
    bench_pipeline,
    bench_sweep,
    bench_threads,
    bench_throughput,
    bench_train_cost,
    profile_train,
)
from .common import DEFAULT_THREADS, REPO_ROOT, Goal, Section, markdown_table, quiet, run_section, set_threads

RESULTS = REPO_ROOT / "work_dirs" / "benchmarks" / "results.json"
REPORT = REPO_ROOT / "reports" / "benchmarks.md"
# Measured by hand (a cold setup needs a fresh venv, the tiny evidence a whole `make reproduce`):
# appended as they are.
HAND_MEASURED = (REPO_ROOT / "reports" / "setup_time.md", REPO_ROOT / "reports" / "validation_bf16.md",
                 REPO_ROOT / "reports" / "baseline_lr.md", REPO_ROOT / "reports" / "tiny_evidence.md")
EVAL_SPEED_GOAL = 10.0
EVAL_IMAGES = {False: 4370, True: 500}  # CrowdHuman val size; --quick


def eval_speed(quick: bool = False) -> Section:
    """Run the evaluation helper's ``benchmarks/bench_eval_speed.py`` as it is and keep its output;
    the goal line comes from its "speed-up, metric vs metric" line."""
    import torch

    images = EVAL_IMAGES[quick]
    script = REPO_ROOT / "benchmarks" / "bench_eval_speed.py"
    section = Section("4. Evaluation speed: ours vs mmdet's CrowdHumanMetric",
                      f"python benchmarks/bench_eval_speed.py --images {images}")
    done = subprocess.run([sys.executable, str(script), "--images", str(images)], cwd=REPO_ROOT,
                          capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())})
    output = done.stdout.strip() or done.stderr[-3000:]
    section.text("```\n" + output + "\n```")
    match = re.search(r"metric vs metric: ([0-9.]+)x", done.stdout)
    if done.returncode != 0 or match is None:
        section.goals.append(Goal("our metric vs mmdet CrowdHumanMetric, same inputs",
                                  f"failed (exit {done.returncode})", f">= {EVAL_SPEED_GOAL:g}x", None))
        return section
    speedup = float(match.group(1))
    section.goals.append(Goal("our metric vs mmdet CrowdHumanMetric, same inputs (wall)",
                              f"{speedup:.1f}x", f">= {EVAL_SPEED_GOAL:g}x", speedup >= EVAL_SPEED_GOAL))
    section.notes.append(f"{images} images (CrowdHuman val has 4,370); the script is the evaluation "
                         f"area's, run unchanged in its own process")
    return section


BENCHMARKS = {
    "train_cost": bench_train_cost.measure,
    "deploy": bench_deploy.measure,
    "assignment": bench_assignment.measure,
    "eval_speed": eval_speed,
    "convergence": bench_convergence.measure,
    "pipeline": bench_pipeline.measure,
    "sweep": bench_sweep.measure,
    "profile": profile_train.measure,
    "throughput": bench_throughput.measure,
    "threads": bench_threads.measure,
}


def run_one(name: str, quick: bool, seeds: int) -> Section:
    kwargs = {"quick": quick, **({"seeds": seeds} if name == "convergence" else {})}
    try:
        return run_section(BENCHMARKS[name], **kwargs)
    except Exception as exc:  # reported, and the other benchmarks still run
        section = Section(f"{name}: FAILED", f"python -m benchmarks.run_all --only {name}",
                          measured_at=time.strftime("%Y-%m-%d %H:%M %Z"))
        section.goals.append(Goal(name, f"failed: {type(exc).__name__}: {exc}", "-", None))
        section.text("```\n" + traceback.format_exc()[-3000:] + "\n```")
        return section


def load_results(path: Path) -> dict[str, Section]:
    if not path.exists():
        return {}
    return {name: Section.from_dict(data) for name, data in json.loads(path.read_text()).items()}


def save_results(path: Path, sections: dict[str, Section]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({name: s.to_dict() for name, s in sections.items()}, indent=1))


def render(sections: dict[str, Section]) -> str:
    from pipeline.tracking import git_commit

    ordered = [(name, sections[name]) for name in BENCHMARKS if name in sections]
    summary = [(name, goal.what, goal.measured, goal.target, goal.verdict)
               for name, section in ordered for goal in section.goals]
    missing = [name for name in BENCHMARKS if name not in sections]
    lines = ["# Benchmarks: the paper's cost claims, measured", "",
             f"Written by `python -m benchmarks.run_all` at commit `{git_commit()}`. Every ratio is "
             f"measured within one process run; each section names the machine and the load it "
             f"was measured under. The timed comparisons (train_cost, deploy, assignment, the "
             f"loader in pipeline) alternate their sides repetition by repetition and report "
             f"medians of CPU time (one torch thread); eval_speed is the evaluation area's script, "
             f"which times each side once (wall). Regenerate all: `python -m benchmarks.run_all`; one: "
             f"`python -m benchmarks.run_all --only NAME` (names: {', '.join(BENCHMARKS)}).", "",
             "## Summary", "", markdown_table(("benchmark", "goal", "measured", "target", "verdict"), summary), ""]
    if missing:
        lines += [f"Not measured yet: {', '.join(missing)}.", ""]
    text = "\n".join(lines) + "\n" + "\n".join(section.markdown() for _, section in ordered)
    for hand in HAND_MEASURED:
        if hand.exists():
            text = text.rstrip("\n") + "\n\n" + hand.read_text()
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes, one seed")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument("--seeds", type=int, default=3, help="convergence: seeds per variant")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads")
    parser.add_argument("--out", type=Path, default=REPORT, help=f"report (default {REPORT})")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    quiet()
    sections = load_results(RESULTS)
    for name in args.only or BENCHMARKS:
        print(f"[run_all] {name} ...", file=sys.stderr, flush=True)
        sections[name] = run_one(name, args.quick, args.seeds)
        print(sections[name].markdown(), flush=True)
        save_results(RESULTS, sections)
    out = args.out
    missing = [name for name in BENCHMARKS if name not in sections]
    if missing and out.exists():  # never replace a report's sections by "not measured yet"
        out = RESULTS.parent / "report.md"
        print(f"[run_all] {args.out} has sections of benchmarks with no kept result here ({', '.join(missing)}; "
              f"{RESULTS} holds the others): it is left as it is, and this report goes to {out} — "
              f"copy its new sections over by hand, or run all benchmarks", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(sections))
    print(f"[run_all] report: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
