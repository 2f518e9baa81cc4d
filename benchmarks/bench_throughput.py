"""Training and validation throughput of the tiny profile: our loop vs plain mmdet, and GFLOP/s.

    .venv/bin/python -m benchmarks.bench_throughput [--quick] [--threads 1]

Loops: the tiny DSLA + FS config on the tiny prepared crowd data (192 training images, the 200
curve images for validation), two epochs validated after each per run, built (a) as mmdet's
``tools/train.py`` does (``Config.fromfile``, ``work_dir``, ``Runner.from_cfg``; the same data
roots), (b) as the train stage builds it (``pipeline.stages.train.build_config``: our hooks) and
(c) as (b) before issue 24's speed-ups (the frozen-prefix cache off). The three run in this
process, alternately (A B C, C B A, ...). Every hook call goes through a wrapped
``Runner.call_hook``, which also reads this process's CPU clock at the start and end of every
training and validation epoch: training images per CPU second (= per core: one torch thread) and
validation images per CPU second, as ratios per round.

Frozen-prefix cache at steady state: a training step and a validation batch with every image in
the cache against the cache off, interleaved (what most epochs of a 12-epoch run see).

Physical yardstick: the FLOPs of one training step (``torch.utils.flop_counter``: forward and
backward of every conv / matmul as executed, batch 4 at 256 px) over its median CPU time, against
a 2048 × 2048 fp32 GEMM on the same core.
"""
from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from .common import Section, cli, interleaved, quiet, ratio_goal, spread

CONFIG = "tiny/dsla_fs_crowdhuman"  # a composed config (experiments/compose.py)
CURVE_IMAGES = 200
VAL_SHARE_GOAL = 0.10  # issue 24: per-epoch validation at most 10 % of a Figure 4 run
GEMM_SIZE = 2048


# ------------------------------------------------------------------------------- arithmetic
def images_per_second(images: int, seconds: float) -> float:
    """Throughput; ``seconds`` must be positive."""
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    return images / seconds


def gemm_flops(n: int) -> int:
    """Floating-point operations of an n × n by n × n matrix product (a multiply and an add
    per term: 2 n³)."""
    return 2 * n ** 3


def gflops_per_second(flops: float, seconds: float) -> float:
    return flops / seconds / 1e9


def training_step_flops(forward: float, frozen_forward: float) -> float:
    """FLOPs of a training step: the forward, and a backward of twice the forward of the layers
    that train (gradients for their inputs and their weights), none for frozen layers."""
    return forward + 2 * (forward - frozen_forward)


def validation_share(train_epoch_seconds: float, val_seconds: float) -> float:
    """Share of a Figure 4 epoch (train, then validate) spent validating."""
    return val_seconds / (train_epoch_seconds + val_seconds)


def epochs_per_hour(train_epoch_seconds: float, val_seconds: float, val_every: int = 1,
                    cores: int = 1) -> float:
    """Training epochs one hour of ``cores`` cores holds, validating every ``val_every`` epochs."""
    return 3600.0 * cores / (train_epoch_seconds + val_seconds / val_every)


# ------------------------------------------------------------------------------------ loops
class LoopClock:
    """Wraps ``Runner.call_hook`` while installed: CPU seconds per (hook, event), and the CPU
    clock at the start of the train and validation epochs and at their ends."""

    def __init__(self):
        self.spent = defaultdict(float)
        self.marks: dict[str, float] = {}
        self.epochs: dict[str, list[float]] = defaultdict(list)  # "train" / "val": CPU s of each

    @contextlib.contextmanager
    def installed(self):
        from mmengine.runner import Runner

        original = Runner.call_hook
        clock = self

        def call_hook(runner, fn_name, **kwargs):
            if fn_name in ("before_train_epoch", "after_train_epoch", "before_val_epoch",
                           "after_val_epoch"):
                clock.marks[fn_name] = time.process_time()
                when, kind, _ = fn_name.split("_")  # before / after, train / val, epoch
                if when == "after":
                    clock.epochs[kind].append(clock.marks[fn_name] - clock.marks[f"before_{kind}_epoch"])
            for hook in runner._hooks:
                if hasattr(hook, fn_name):
                    started = time.process_time()
                    getattr(hook, fn_name)(runner, **kwargs)
                    clock.spent[(type(hook).__name__, fn_name)] += time.process_time() - started
        Runner.call_hook = call_hook
        try:
            yield self
        finally:
            Runner.call_hook = original

    def train_epoch(self) -> float:
        """Mean CPU s of the run's training epochs."""
        return statistics.mean(self.epochs["train"])

    def validation(self) -> float:
        """Mean CPU s of the run's validations."""
        return statistics.mean(self.epochs["val"])


def tiny_data() -> tuple[str, str]:
    """The tiny prepared crowd data (the pipeline's cached prepare stage) and its curve subset."""
    from pipeline.profiles import write_curve_subset

    from .bench_pipeline import prepared_tiny_crowd

    data_root = prepared_tiny_crowd()
    return data_root, write_curve_subset(Path(data_root), "annotation_val.odgt", CURVE_IMAGES)


EPOCHS = {"epochs": 1}  # epochs per timed run (loop_runs sets it)


def one_epoch(cfg, validate: bool) -> None:
    cfg.train_cfg.max_epochs = EPOCHS["epochs"]
    cfg.train_cfg.val_interval = 1 if validate else 99


def plain_mmdet_config(config, data_root: str, curve_ann: str, work_dir: Path, validate: bool = True):
    """What mmdet's tools/train.py builds for ``CONFIG --work-dir W --cfg-options <data roots>``."""
    from experiments import compose
    from pipeline.stages.train import set_curve_annotations, set_data_root

    cfg = compose.load(config)  # the one Config tools/train.py gets for the composed file
    set_data_root(cfg, data_root)  # what --cfg-options would set: the same prepared data
    set_curve_annotations(cfg, data_root, curve_ann)
    cfg.launcher = "none"
    cfg.work_dir = str(work_dir)
    one_epoch(cfg, validate)
    return cfg


def ours_config(config, data_root: str, curve_ann: str, work_dir: Path, validate: bool = True):
    """What the train stage builds (``pipeline.stages.train.build_config``)."""
    from pipeline.stages.train import build_config, register_hooks, set_curve_annotations

    register_hooks()
    cfg = build_config(config=config, data_root=data_root,
                       overrides={}, seed=0, work_dir=work_dir, progress=True, description="bench")
    set_curve_annotations(cfg, data_root, curve_ann)
    one_epoch(cfg, validate)
    return cfg


def before_config(config, data_root: str, curve_ann: str, work_dir: Path, validate: bool = True):
    """Ours as before issue 24's speed-ups: no frozen-prefix feature cache."""
    cfg = ours_config(config, data_root, curve_ann, work_dir, validate)
    cfg.model.backbone.prefix_cache = False
    return cfg


BUILDERS = {"mmdet": plain_mmdet_config, "ours": ours_config, "before": before_config}
KIND_LABELS = {"mmdet": "plain mmdet tools/train.py (same config)", "ours": "ours (train stage)",
               "before": "ours before issue 24 (no prefix cache)"}


def loop_runs(kinds, repeats: int, validate: bool = True, config=CONFIG, epochs: int = 1,
              warmup: int = 1) -> tuple[dict, dict]:
    """Train ``epochs`` epochs (validating after each) per run for each of ``kinds``, interleaved:
    the ``Timing`` of each whole run (build + train) and its ``LoopClock``s."""
    EPOCHS["epochs"] = epochs
    from mmengine.runner import Runner

    from pipeline.runtime.console import console_to

    data_root, curve_ann = tiny_data()
    root = Path(tempfile.mkdtemp(prefix="dsla-bench-throughput-"))
    clocks = {kind: [] for kind in kinds}

    def train(kind):
        work_dir = root / f"{kind}{len(clocks[kind])}"
        cfg = BUILDERS[kind](config, data_root, curve_ann, work_dir, validate)
        clock = LoopClock()
        with clock.installed(), console_to(work_dir / "console.log", enabled=True):
            Runner.from_cfg(cfg).train()
        quiet()
        clocks[kind].append(clock)
    timings = interleaved({kind: (lambda kind=kind: train(kind)) for kind in kinds},
                          repeats=repeats, warmup=warmup)
    return timings, {kind: values[warmup:] for kind, values in clocks.items()}  # without the warm-up


# --------------------------------------------------------------------------------- GFLOP/s
def step_gflops(repeats: int) -> tuple[float, float, float]:
    """(GFLOP per step, median CPU s per step, GFLOP/s) of the tiny DSLA + FS training step.

    The forward's FLOPs as ``torch.utils.flop_counter`` counts them; the backward as twice the
    forward FLOPs of the layers that train (a gradient for the input and one for the weights;
    the frozen blocks 0-6 have none). The counter's own backward count is not used: it counts a
    depthwise conv's backward as a dense conv's (45.6 against 5.0 forward GFLOP here)."""
    from torch.utils.flop_counter import FlopCounterMode

    from .detectors import build_detector, crowd_batch, load_config, train_step

    cfg = load_config("tiny", "dsla_fs")
    cfg.model.backbone.prefix_cache = False  # every step computes everything it counts
    model = build_detector(cfg)
    step = train_step(model, cfg, crowd_batch(4, 256, 256, 22, seed=0))
    with FlopCounterMode(display=False) as counter:
        step()
    counts = counter.get_flop_counts()
    forward = sum(v for op, v in counts["Global"].items() if "backward" not in str(op))
    frozen = sum(sum(v for op, v in counts.get(f"{type(model).__name__}.backbone.features.{i}", {}).items()
                     if "backward" not in str(op)) for i in range(model.backbone.frozen_stages + 1))
    flops = training_step_flops(forward, frozen)
    times = interleaved({"step": step}, repeats=repeats, warmup=1)["step"]
    return flops / 1e9, times.cpu_median, gflops_per_second(flops, times.cpu_median)


def gemm_gflops(n: int = GEMM_SIZE, repeats: int = 5) -> float:
    import torch

    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    times = interleaved({"gemm": lambda: torch.mm(a, b)}, repeats=repeats, warmup=1)["gemm"]
    return gflops_per_second(gemm_flops(n), times.cpu_median)


# ------------------------------------------------------------------------ frozen-prefix cache
def cache_steps(repeats: int) -> dict:
    """Steady state of the frozen-prefix cache (every image seen before, as from the third epoch
    on for most images): the tiny DSLA + FS training step and a validation batch (4 images, 256 px)
    with the cache hit against without the cache, interleaved. Returns ``Timing``s by arm."""
    import torch

    from .detectors import build_detector, crowd_batch, load_config, train_step

    cfg = load_config("tiny", "dsla_fs")
    model = build_detector(cfg)
    backbone = model.backbone
    batch = crowd_batch(4, 256, 256, 22, seed=0)
    for i, sample in enumerate(batch["data_samples"]):
        sample.set_metainfo(dict(img_path=f"image{i}.jpg", flip=False, flip_direction=None))
    step = train_step(model, cfg, batch)

    def run(cache: bool, train: bool):
        backbone.prefix_cache = cache
        if train:
            model.train()
            return step()
        model.eval()
        with torch.no_grad():
            return model.val_step(batch)
    run(True, True)
    run(True, False)  # both batches are in the cache now (eval and train inputs are the same pixels)
    arms = {"train, no cache": lambda: run(False, True), "train, cache hit": lambda: run(True, True),
            "validation, no cache": lambda: run(False, False),
            "validation, cache hit": lambda: run(True, False)}
    return interleaved(arms, repeats=repeats, warmup=1)


# ------------------------------------------------------------------------------------ measure
def measure(quick: bool = False) -> Section:
    from .common import machine

    section = Section("11. Throughput: tiny training and validation, our loop vs plain mmdet",
                      f"python -m benchmarks.bench_throughput{' --quick' if quick else ''}")
    repeats, epochs = (1, 2) if quick else (2, 2)
    kinds = ("mmdet", "ours", "before")
    timings, clocks = loop_runs(kinds, repeats, epochs=epochs, warmup=0)
    train_images = 192
    rows = []
    for kind in kinds:
        train_s = statistics.median(c.train_epoch() for c in clocks[kind])
        val_s = statistics.median(c.validation() for c in clocks[kind])
        rows.append((KIND_LABELS[kind], f"{train_s:.1f}", f"{images_per_second(train_images, train_s):.2f}",
                     f"{val_s:.1f}", f"{images_per_second(CURVE_IMAGES, val_s):.2f}",
                     f"{100 * validation_share(train_s, val_s):.1f} %",
                     f"{epochs_per_hour(train_s, val_s):.0f} / {epochs_per_hour(train_s, val_s, 12):.0f}",
                     f"{timings[kind].cpu_median:.1f}"))
    section.table((f"loop ({epochs} epochs, validated after each)", "train CPU s per epoch (48 it.)",
                   "train images/s per core", f"validation CPU s ({CURVE_IMAGES} images)",
                   "validation images/s per core", "validation share of a Figure 4 epoch",
                   "epochs per core-hour (val every epoch / once per 12)", "whole run CPU s"), rows)

    def ratios(numerator: str, denominator: str, what: str) -> list[float]:
        # images/s of `numerator` over `denominator`, per round
        return [getattr(b, what)() / getattr(a, what)() for a, b in zip(clocks[numerator], clocks[denominator])]
    notes = []
    for numerator, denominator in (("ours", "mmdet"), ("ours", "before")):
        train_r, val_r = ratios(numerator, denominator, "train_epoch"), ratios(numerator, denominator, "validation")
        goal = {"mmdet": (0.98, "training images/s, ours / plain mmdet, same config (CPU)"),
                "before": (1.5, "training images/s, ours / before issue 24 (CPU)")}[denominator]
        section.goals.append(ratio_goal(goal[1], statistics.median(train_r), goal[0], at_most=False))
        notes.append(f"{numerator} / {denominator}: training {statistics.median(train_r):.3f} "
                     f"(IQR {spread(train_r)}), validation {statistics.median(val_r):.3f} (IQR {spread(val_r)})")
    ours_train = statistics.median(c.train_epoch() for c in clocks["ours"])
    ours_val = statistics.median(c.validation() for c in clocks["ours"])
    section.goals.append(ratio_goal("per-epoch validation share of a Figure 4 run (ours)",
                                    validation_share(ours_train, ours_val), VAL_SHARE_GOAL, unit=""))
    section.notes.append("per-round images/s ratios, n = " + str(repeats) + ": " + "; ".join(notes))

    cached = cache_steps(3 if quick else 10)
    cache_rows = []
    for kind in ("train", "validation"):
        plain, hit = cached[f"{kind}, no cache"], cached[f"{kind}, cache hit"]
        ratios = [a / b for a, b in zip(plain.cpu, hit.cpu)]
        cache_rows.append((kind, f"{plain.cpu_median:.3f}", f"{hit.cpu_median:.3f}",
                           f"{statistics.median(ratios):.3f}", spread(ratios)))
    section.table(("batch of 4 at 256 px, tiny DSLA + FS", "no cache CPU s", "frozen prefix cached CPU s",
                   "speed-up (per round, median)", "IQR"), cache_rows)
    section.notes.append("the cache is hit from an image's second visit with the same flip: in a 12-epoch tiny "
                         "run about 10 of an image's 12 training visits (each flip state is computed once) and 11 "
                         "of the curve images' 12 validations; in the loop rows the second epoch hits it for about "
                         "half of the training images and all validation images, so they understate a 12-epoch run")

    gflop, step_s, achieved = step_gflops(3 if quick else 10)
    gemm = gemm_gflops(repeats=3 if quick else 5)
    section.table(("physical yardstick (one core, fp32)", "value"), [
        ("tiny DSLA + FS training step, batch 4 × 256×256: GFLOP (forward counted, backward 2 × trainable "
         "forward)", f"{gflop:.2f}"),
        ("its median CPU s", f"{step_s:.3f}"),
        ("achieved GFLOP/s", f"{achieved:.1f}"),
        (f"{GEMM_SIZE}×{GEMM_SIZE} fp32 GEMM, GFLOP/s", f"{gemm:.1f}"),
        ("step / GEMM", f"{achieved / gemm:.3f}")])
    section.notes.append(f"1-min load average at the end: {machine()['load']:.2f}")
    return section


if __name__ == "__main__":
    cli(measure, __doc__)
