"""Training and validation throughput of the tiny profile: our loop vs plain mmdet, and GFLOP/s.

    .venv/bin/python -m benchmarks.bench_throughput [--quick] [--threads 1]

Loops: the tiny DSLA + FS config on the tiny prepared crowd data (192 training images, the 200
curve images for validation), one epoch and one validation per run, built (a) as the train stage
builds it (``pipeline.stages.train.build_config``: our hooks, our validation settings) and (b) as
mmdet's ``tools/train.py`` does (``Config.fromfile``, ``work_dir``, ``Runner.from_cfg``; the same
data roots). The two are run in this process, alternately (A B, B A, ...). Every hook call goes
through a wrapped ``Runner.call_hook``, which also reads this process's CPU clock at the start
of the training epoch, its end, and the validation epoch's start and end: training images per
CPU second (= per core: one torch thread) and validation images per CPU second, ours over mmdet's
per round.

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

from .common import REPO_ROOT, Section, cli, interleaved, quiet, ratio_goal, spread

CONFIG = REPO_ROOT / "experiments" / "configs" / "tiny" / "dsla_fs_crowdhuman.py"
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

    @contextlib.contextmanager
    def installed(self):
        from mmengine.runner import Runner

        original = Runner.call_hook
        clock = self

        def call_hook(runner, fn_name, **kwargs):
            if fn_name in ("before_train_epoch", "after_train_epoch", "before_val_epoch",
                           "after_val_epoch"):
                clock.marks[fn_name] = time.process_time()
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
        return self.marks["after_train_epoch"] - self.marks["before_train_epoch"]

    def validation(self) -> float:
        return self.marks["after_val_epoch"] - self.marks["before_val_epoch"]


def tiny_data() -> tuple[str, str]:
    """The tiny prepared crowd data (the pipeline's cached prepare stage) and its curve subset."""
    from pipeline.profiles import write_curve_subset

    from .bench_pipeline import prepared_tiny_crowd

    data_root = prepared_tiny_crowd()
    return data_root, write_curve_subset(Path(data_root), "annotation_val.odgt", CURVE_IMAGES)


def one_epoch(cfg, validate: bool) -> None:
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1 if validate else 99


def plain_mmdet_config(config, data_root: str, curve_ann: str, work_dir: Path, validate: bool = True):
    """What mmdet's tools/train.py builds for ``CONFIG --work-dir W --cfg-options <data roots>``."""
    from mmengine.config import Config

    from pipeline.stages.train import set_curve_annotations, set_data_root

    cfg = Config.fromfile(str(config))
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
    cfg = build_config(config=str(Path(config).relative_to(REPO_ROOT)), data_root=data_root,
                       overrides={}, seed=0, work_dir=work_dir, progress=True, description="bench")
    set_curve_annotations(cfg, data_root, curve_ann)
    one_epoch(cfg, validate)
    return cfg


BUILDERS = {"mmdet": plain_mmdet_config, "ours": ours_config}


def loop_runs(kinds, repeats: int, validate: bool = True, config=CONFIG) -> tuple[dict, dict]:
    """Train one epoch (and validate once) per run for each of ``kinds``, interleaved: the
    ``Timing`` of each whole run (build + train) and its ``LoopClock``s."""
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
                          repeats=repeats, warmup=1)
    return timings, {kind: values[1:] for kind, values in clocks.items()}  # without the warm-up


# --------------------------------------------------------------------------------- GFLOP/s
def step_gflops(repeats: int) -> tuple[float, float, float]:
    """(GFLOP per step, median CPU s per step, GFLOP/s) of the tiny DSLA + FS training step."""
    from torch.utils.flop_counter import FlopCounterMode

    from .detectors import build_detector, crowd_batch, load_config, train_step

    cfg = load_config("tiny", "dsla_fs")
    model = build_detector(cfg)
    step = train_step(model, cfg, crowd_batch(4, 256, 256, 22, seed=0))
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    times = interleaved({"step": step}, repeats=repeats, warmup=1)["step"]
    return flops / 1e9, times.cpu_median, gflops_per_second(flops, times.cpu_median)


def gemm_gflops(n: int = GEMM_SIZE, repeats: int = 5) -> float:
    import torch

    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    times = interleaved({"gemm": lambda: torch.mm(a, b)}, repeats=repeats, warmup=1)["gemm"]
    return gflops_per_second(gemm_flops(n), times.cpu_median)


# ------------------------------------------------------------------------------------ measure
def measure(quick: bool = False) -> Section:
    from .common import machine

    section = Section("11. Throughput: tiny training and validation, our loop vs plain mmdet",
                      f"python -m benchmarks.bench_throughput{' --quick' if quick else ''}")
    repeats = 1 if quick else 3
    timings, clocks = loop_runs(("mmdet", "ours"), repeats)
    train_images = 192
    rows, train_ratio, val_ratio = [], [], []
    for a, b in zip(clocks["ours"], clocks["mmdet"]):
        train_ratio.append(b.train_epoch() / a.train_epoch())  # images/s ours / mmdet
        val_ratio.append(b.validation() / a.validation())
    for kind in ("mmdet", "ours"):
        train_s = statistics.median(c.train_epoch() for c in clocks[kind])
        val_s = statistics.median(c.validation() for c in clocks[kind])
        rows.append((kind, f"{train_s:.1f}", f"{images_per_second(train_images, train_s):.2f}",
                     f"{val_s:.1f}", f"{images_per_second(CURVE_IMAGES, val_s):.2f}",
                     f"{100 * validation_share(train_s, val_s):.1f} %",
                     f"{epochs_per_hour(train_s, val_s):.0f} / {epochs_per_hour(train_s, val_s, 12):.0f}",
                     f"{timings[kind].cpu_median:.1f}"))
    section.table(("loop", "train epoch CPU s (48 it.)", "train images/s per core",
                   f"validation CPU s ({CURVE_IMAGES} images)", "validation images/s per core",
                   "validation share of a Figure 4 epoch", "epochs per core-hour (val every epoch / once per 12)",
                   "whole run CPU s (build, train, validate, checkpoint)"), rows)
    section.goals.append(ratio_goal("training images/s, ours / plain mmdet (CPU)",
                                    statistics.median(train_ratio), 0.98, at_most=False))
    ours_train = statistics.median(c.train_epoch() for c in clocks["ours"])
    ours_val = statistics.median(c.validation() for c in clocks["ours"])
    share = validation_share(ours_train, ours_val)
    section.goals.append(ratio_goal("per-epoch validation share of a Figure 4 run (ours)", share,
                                    VAL_SHARE_GOAL, unit=""))
    section.notes.append(f"per-round ratios ours / mmdet (images/s): training median "
                         f"{statistics.median(train_ratio):.3f} (IQR {spread(train_ratio)}), validation "
                         f"median {statistics.median(val_ratio):.3f} (IQR {spread(val_ratio)}); "
                         f"n = {repeats} rounds after a warm-up round")

    gflop, step_s, achieved = step_gflops(3 if quick else 10)
    gemm = gemm_gflops(repeats=3 if quick else 5)
    section.table(("physical yardstick (one core, fp32)", "value"), [
        ("tiny DSLA + FS training step, batch 4 × 256×256: counted GFLOP (fwd + bwd)", f"{gflop:.2f}"),
        ("its median CPU s", f"{step_s:.3f}"),
        ("achieved GFLOP/s", f"{achieved:.1f}"),
        (f"{GEMM_SIZE}×{GEMM_SIZE} fp32 GEMM, GFLOP/s", f"{gemm:.1f}"),
        ("step / GEMM", f"{achieved / gemm:.3f}")])
    section.notes.append(f"1-min load average at the end: {machine()['load']:.2f}")
    return section


if __name__ == "__main__":
    cli(measure, __doc__)
