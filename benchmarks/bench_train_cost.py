"""Training cost of the SLA subnet: DSLA / baseline train-step time, and train / infer FLOPs.

    .venv/bin/python -m benchmarks.bench_train_cost [--quick] [--threads N]

Step time: the baseline and the DSLA model of a profile with the same weights on every shared
layer (``benchmarks.detectors.matched_pair``), one mmengine ``train_step`` each (forward, both
assignments, losses, backward, AdamW step with the config's gradient clipping) on the same
synthetic crowd batch, A/B interleaved. Two models: the ``tiny`` profile's (batch 4 at 256 px,
as it trains) and the ``paper`` profile's ResNet-50 + FPN (randomly initialised) at 512 px.

FLOPs: ``dsla.analysis.complexity.model_complexity`` of the DSLA config, phase ``train`` (the
SLA subnet's output convs included) over phase ``infer`` (the deployed graph). The paper's
Table 5 gives 204 / 201 GFLOPs (×1.015) without stating the input size; 1333×800 is reported
beside 512 px because the baseline's count there is the paper's 201 G.
"""
from __future__ import annotations

import statistics
import time
from collections import defaultdict

from .common import Section, cli, interleaved, ratio_goal, round_ratios, spread
from .detectors import crowd_batch, matched_pair, size_label, train_step

PIECES = (("backbone + neck forward", "extract_feat"),
          ("head forward (towers, output convs)", "forward"),
          ("O2O assignment + losses", "one_to_one_losses"),
          ("SLA assignment + losses", "soft_label_losses"))


def step_breakdown(model, cfg, batch, repeats: int) -> dict:
    """Median CPU ms per training step of each piece of ``PIECES`` (timed by wrapping the
    model's methods) and of the rest (backward, optimiser, data preprocessing)."""
    head = model.bbox_head
    spent = defaultdict(float)
    originals = []
    for _, name in PIECES:
        owner = model if name == "extract_feat" else head
        if not hasattr(owner, name):
            continue
        original = getattr(owner, name)

        def timed_call(*args, _original=original, _name=name, **kwargs):
            started = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_name] += time.process_time() - started
        setattr(owner, name, timed_call)
        originals.append((owner, name))
    step = train_step(model, cfg, batch)
    step()  # warm-up
    per_step = defaultdict(list)
    try:
        for _ in range(repeats):
            spent.clear()
            started = time.process_time()
            step()
            total = time.process_time() - started
            for _, name in PIECES:
                per_step[name].append(spent.get(name, 0.0))
            per_step["rest"].append(total - sum(spent.values()))
            per_step["total"].append(total)
    finally:
        for owner, name in originals:
            delattr(owner, name)  # back to the class's method
    return {name: 1e3 * statistics.median(values) for name, values in per_step.items()}

GOAL = 1.03
PAPER_FLOPS = (204, 201)
# (profile, label, batch size, height, width, instances per image)
STEP_CASES = [("tiny", "tiny (MobileNetV2, FPN 64)", 4, 256, 256, 22),
              ("paper", "paper (ResNet-50, FPN 256)", 2, 512, 512, 22)]
FLOPS_CASES = [("tiny", 256, 256), ("paper", 512, 512), ("paper", 800, 1333)]


def measure(quick: bool = False) -> Section:
    from dsla.analysis.complexity import model_complexity

    section = Section("1. Training cost of the SLA subnet",
                      f"python -m benchmarks.bench_train_cost{' --quick' if quick else ''}")
    rows = []
    for profile, label, batch_size, height, width, instances in STEP_CASES:
        pair = matched_pair(profile)
        batch = crowd_batch(batch_size, height, width, instances, seed=0)
        repeats = {"tiny": 5 if quick else 15, "paper": 2 if quick else 7}[profile]
        timings = interleaved({"baseline": train_step(pair.baseline, pair.baseline_cfg, batch),
                               "dsla": train_step(pair.dsla, pair.dsla_cfg, batch)},
                              repeats=repeats, warmup=1)
        base, dsla = timings["baseline"], timings["dsla"]
        cpu_ratio, wall_ratio = dsla.cpu_median / base.cpu_median, dsla.wall_median / base.wall_median
        rows.append((label, f"{batch_size} × {size_label(height, width)}", repeats,
                     f"{base.cpu_median:.3f} / {base.wall_median:.3f}",
                     f"{dsla.cpu_median:.3f} / {dsla.wall_median:.3f}",
                     f"{cpu_ratio:.3f}", spread(round_ratios(dsla, base)), f"{wall_ratio:.3f}"))
        section.goals.append(ratio_goal(f"train step DSLA / baseline, {profile} (CPU time)",
                                        cpu_ratio, GOAL))
    section.table(("model", "batch", "reps", "baseline s (CPU / wall)", "DSLA s (CPU / wall)",
                   "ratio CPU", "per-round ratio IQR", "ratio wall"), rows)

    # where the tiny step's extra time goes: the pieces of one step, baseline vs DSLA
    pair = matched_pair("tiny")
    batch = crowd_batch(4, 256, 256, 22, seed=0)
    repeats = 5 if quick else 15
    base = step_breakdown(pair.baseline, pair.baseline_cfg, batch, repeats)
    dsla = step_breakdown(pair.dsla, pair.dsla_cfg, batch, repeats)
    breakdown = []
    for label, name in PIECES + (("backward, optimiser step, the rest", "rest"),
                                 ("whole step", "total")):
        breakdown.append((label, f"{base[name]:.1f}", f"{dsla[name]:.1f}",
                          f"{dsla[name] - base[name]:+.1f}",
                          f"{100 * (dsla[name] - base[name]) / base['total']:+.1f} %"))
    section.table(("tiny step, batch 4 × 256×256 (median CPU ms of "
                   f"{repeats} steps each)", "baseline", "DSLA", "DSLA − baseline",
                   "of the baseline step"), breakdown)

    flops_rows = []
    for profile, height, width in FLOPS_CASES:
        model_cfg = matched_config(profile)
        train = model_complexity(model_cfg, "train", (height, width))
        infer = model_complexity(model_cfg, "infer", (height, width))
        flops_ratio = train["flops"] / infer["flops"]
        flops_rows.append((profile, size_label(height, width), f"{infer['flops'] / 1e9:.2f}",
                           f"{train['flops'] / 1e9:.2f}", f"{flops_ratio:.4f}",
                           f"{infer['params'] / 1e6:.3f}", f"{train['params'] / 1e6:.3f}"))
        if (profile, height, width) == ("paper", 800, 1333):
            section.goals.append(ratio_goal(
                "FLOPs train graph / infer graph, ResNet-50 at 1333×800", flops_ratio, GOAL))
    section.table(("profile", "input", "infer GFLOPs", "train GFLOPs", "train / infer",
                   "infer params (M)", "train params (M)"), flops_rows)
    section.notes += [
        "the DSLA step runs both subnets' assignments and losses; the baseline step the one-to-one "
        "subnet's only; both on the same batch of synthetic pedestrian boxes (22 per image, about "
        "CrowdHuman's 22.6), with the same shared weights",
        f"paper Table 5: {PAPER_FLOPS[0]} vs {PAPER_FLOPS[1]} GFLOPs "
        f"(×{PAPER_FLOPS[0] / PAPER_FLOPS[1]:.3f}); the paper reports no step time",
        "ratios of medians; CPU time is this process's CPU seconds (the goal's measure), wall "
        "time includes waiting for a core on the shared machine; the interquartile range of the "
        "per-round ratios shows the noise",
        "where the extra step time goes (the breakdown table; pieces timed by wrapping the "
        "model's methods — torch.profiler's per-op overhead inflated the many small tensor ops "
        "of the assignments several-fold on this machine, so its table was used only to find "
        "them): the SLA subnet adds its output convs, a second assignment and a second loss, no "
        "tower. On CPU a 3×3 conv with 1 or 4 output channels costs, forward and backward, "
        "about as much as a 64-channel one, so the two SLA output convs run fused with the O2O "
        "ones (one conv of 2C and one of 8 channels, same parameters); the eq. 2 / SLA "
        "assignment takes the whole batch in one pass, since at 1,360 points and 22 instances "
        "its cost is the fixed per-call cost of a few dozen small tensor operations",
        "the breakdown's steps run model after model, not interleaved, so its rows move with the "
        "machine's load (its 'whole step' row is noisier than the interleaved ratio above); what "
        "the SLA subnet adds for sure is its assignment and loss (the 'SLA' row) and nothing in "
        "the head forward",
    ]
    return section


def matched_config(profile: str):
    from .detectors import load_config

    return load_config(profile, "dsla").model


if __name__ == "__main__":
    cli(measure, __doc__)
