"""Where a tiny training step's time goes: phases, top operators, hooks, our loop vs mmdet's.

    .venv/bin/python -m benchmarks.profile_train [--quick] [--threads 1] [--skip-loop]

Step (one torch thread): the ``tiny`` profile's baseline and DSLA + FS models (the project's
configs, ImageNet weights switched off: the cost does not depend on the values), batch 4 at
256 px, 22 pedestrian boxes per image (``benchmarks.detectors.crowd_batch``), one mmengine
``train_step`` each, A/B interleaved. Phases are timed by wrapping the modules' and the optimiser
wrapper's methods (CPU seconds of this process); the operator table comes from ``torch.profiler``
over a few more steps (its per-operator bookkeeping inflates the many small tensor operations of
assignment and losses, so shares come from the profiler's own total, not the wrapped times).

Loop: the tiny DSLA + FS config on the tiny prepared data, one epoch (48 iterations) and one
validation (the 200 curve images) per run, built (a) the way the train stage does
(``build_config``: our hooks, console redirected; no MLflow run — its hook logs once per epoch)
and (b) as mmdet's ``tools/train.py`` does, in this process, A/B interleaved; every hook call is
timed (``Runner.call_hook`` wrapped; ``benchmarks.bench_throughput.loop_runs``).
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict

from .common import Section, cli, interleaved, ratio_goal, round_ratios, spread
from .detectors import build_detector, crowd_batch, load_config

VARIANTS = (("baseline", "baseline (OneNet)"), ("dsla_fs", "DSLA + FS"))
BATCH = (4, 256, 256, 22)


def step_parts(model, cfg, batch):
    """``(step, spent)``: a closure doing one training step as mmengine's ``train_step`` does, and
    the dict its phases' CPU seconds accumulate into (wrapped methods, see PHASES)."""
    from mmengine.optim import build_optim_wrapper

    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    spent = defaultdict(float)
    head = model.bbox_head

    def wrap(owner, name, label):
        original = getattr(owner, name)

        def timed_call(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started
        setattr(owner, name, timed_call)

    wrap(model.data_preprocessor, "forward", "data preprocessor")
    wrap(model.backbone, "forward", "backbone forward")
    wrap(model.neck, "forward", "neck forward (FPN, FS)")
    wrap(head, "forward", "head forward (towers, outputs)")
    wrap(head, "loss_by_feat", "assignment + losses")
    wrap(wrapper, "backward", "backward")
    wrap(wrapper, "step", "optimiser step (clip + AdamW)")
    wrap(wrapper, "zero_grad", "zero_grad")
    model.train()

    def step():
        return model.train_step(batch, wrapper)
    return step, spent


PHASES = ("data preprocessor", "backbone forward", "neck forward (FPN, FS)",
          "head forward (towers, outputs)", "assignment + losses", "backward",
          "optimiser step (clip + AdamW)", "zero_grad")


def phase_table(section: Section, repeats: int) -> dict:
    """Median CPU ms per phase of each variant's step, interleaved; returns the step closures."""
    batch = crowd_batch(*BATCH[:3], BATCH[3], seed=0)
    steps, per_phase = {}, {}
    for variant, _ in VARIANTS:
        cfg = load_config("tiny", variant)
        model = build_detector(cfg)
        step, spent = step_parts(model, cfg, batch)
        per_phase[variant] = defaultdict(list)

        def timed_step(step=step, spent=spent, record=per_phase[variant]):
            spent.clear()
            started = time.process_time()
            step()
            total = time.process_time() - started
            for name in PHASES:
                record[name].append(spent.get(name, 0.0))
            record["total"].append(total)
            record["rest"].append(total - sum(spent.values()))
        steps[variant] = (step, timed_step)
    timings = interleaved({v: steps[v][1] for v, _ in VARIANTS}, repeats=repeats, warmup=1)
    rows = []
    for name in PHASES + ("rest", "total"):
        row = [name if name != "rest" else "the rest (train_step glue, parse_losses)"]
        for variant, _ in VARIANTS:
            values = per_phase[variant][name][1:]  # without the warm-up round
            total = statistics.median(per_phase[variant]["total"][1:])
            row += [f"{1e3 * statistics.median(values):.1f}",
                    f"{100 * statistics.median(values) / total:.1f} %"]
        rows.append(row)
    header = ["phase (median CPU ms of %d steps)" % repeats]
    for _, label in VARIANTS:
        header += [label, "share"]
    section.table(header, rows)
    ratio = round_ratios(timings["dsla_fs"], timings["baseline"])
    section.notes.append(
        f"step, batch {BATCH[0]} × {BATCH[1]}×{BATCH[2]}: baseline {timings['baseline'].cpu_median:.3f} s, "
        f"DSLA + FS {timings['dsla_fs'].cpu_median:.3f} s CPU (ratio {statistics.median(ratio):.3f}, "
        f"per-round IQR {spread(ratio)}, n = {repeats})")
    return {v: steps[v][0] for v, _ in VARIANTS}


def operator_table(section: Section, steps: dict, repeats: int, top: int = 15) -> None:
    """torch.profiler over ``repeats`` steps of each variant: the top operators by self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    tables = {}
    for variant, _ in VARIANTS:
        steps[variant]()  # warm
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                steps[variant]()
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        tables[variant] = (sorted(((e.key, e.self_cpu_time_total, e.count) for e in events),
                                  key=lambda item: -item[1]), total)
    for variant, label in VARIANTS:
        ranked, total = tables[variant]
        rows = [(name, f"{us / repeats / 1e3:.1f}", f"{100 * us / total:.1f} %", count // repeats)
                for name, us, count in ranked[:top]]
        rest = sum(us for _, us, _ in ranked[top:])
        rows.append((f"{len(ranked) - top} other operators", f"{rest / repeats / 1e3:.1f}",
                     f"{100 * rest / total:.1f} %", sum(c for *_, c in ranked[top:]) // repeats))
        section.table((f"{label}: operator (torch.profiler, {repeats} steps)", "self CPU ms / step",
                       "share", "calls / step"), rows)


# ------------------------------------------------------------------------------------ the loop
def loop_table(section: Section, repeats: int) -> None:
    """One epoch + one validation of tiny DSLA + FS, our loop vs mmdet's, and every hook's cost."""
    from .bench_throughput import loop_runs

    timings, clocks = loop_runs(("mmdet", "ours"), repeats)
    ratio = round_ratios(timings["ours"], timings["mmdet"])
    train_ratio = [a.train_epoch() / b.train_epoch() for a, b in zip(clocks["ours"], clocks["mmdet"])]
    rows = []
    for kind in ("mmdet", "ours"):
        rows.append((kind, f"{timings[kind].cpu_median:.2f}", f"{timings[kind].wall_median:.2f}",
                     f"{statistics.median(c.train_epoch() for c in clocks[kind]):.2f}",
                     f"{statistics.median(c.validation() for c in clocks[kind]):.2f}"))
    section.table(("tiny DSLA + FS: build, 1 epoch (48 it.), 1 validation (200 images), checkpoint",
                   "whole run CPU s", "whole run wall s", "train epoch CPU s", "validation CPU s"), rows)
    section.goals.append(ratio_goal("our loop / mmdet tools/train.py: train epoch CPU, tiny",
                                    statistics.median(train_ratio), 1.02))
    section.goals.append(ratio_goal("our loop / mmdet tools/train.py: whole run CPU, tiny",
                                    statistics.median(ratio), 1.02))
    section.notes.append(f"loop ratios ours / mmdet per round (n = {repeats}, after a warm-up round): "
                         f"train epoch {statistics.median(train_ratio):.3f} (IQR {spread(train_ratio)}), "
                         f"whole run {statistics.median(ratio):.3f} (IQR {spread(ratio)})")
    hook_rows = []
    for kind in ("mmdet", "ours"):
        by_hook = defaultdict(float)
        for clock in clocks[kind]:
            for (hook, _), seconds in clock.spent.items():
                by_hook[hook] += seconds / len(clocks[kind])
        total = timings[kind].cpu_median
        for hook, seconds in sorted(by_hook.items(), key=lambda item: -item[1])[:10]:
            hook_rows.append((kind, hook, f"{1e3 * seconds:.1f}", f"{100 * seconds / total:.2f} %"))
        hook_rows.append((kind, "**all hooks**", f"{1e3 * sum(by_hook.values()):.1f}",
                          f"{100 * sum(by_hook.values()) / total:.2f} %"))
    section.table(("loop", "hook (all its events)", "CPU ms per run", "of the whole run"), hook_rows)
    section.notes.append("CheckpointHook's time is the epoch's checkpoint save; ours validates the "
                         "same 200 images with the same settings unless a section below says otherwise")


def measure(quick: bool = False, skip_loop: bool = False) -> Section:
    section = Section("10. Profile of the tiny training step (issue 24)",
                      f"python -m benchmarks.profile_train{' --quick' if quick else ''}")
    steps = phase_table(section, repeats=5 if quick else 15)
    operator_table(section, steps, repeats=2 if quick else 5)
    if not skip_loop:
        loop_table(section, repeats=1 if quick else 3)
    return section


def _extra(parser) -> None:
    parser.add_argument("--skip-loop", action="store_true", help="only the step, not the Runner loop")


if __name__ == "__main__":
    cli(measure, __doc__, _extra)
