"""The bf16-autocast opt-in (``AutocastHook``): its speed-up and its effect on AP (issue 24).

    .venv/bin/python -m benchmarks.bench_bf16 train --seed 0 --precision bf16 --out bf16.jsonl
    .venv/bin/python -m benchmarks.bench_bf16 speed [--rounds 10]
    .venv/bin/python -m benchmarks.bench_bf16 summary bf16.jsonl

``train``: one tiny DSLA + FS training (``tiny/dsla_fs_crowdhuman``, the train stage's config:
``pipeline.stages.train.build_config``, its hooks, the seed) on the tiny prepared crowd data, one
torch thread, validated once after the last epoch on the whole validation set (as a run that is
not a Figure 4 curve); ``--precision bf16`` adds ``dict(type='AutocastHook', dtype='bf16',
phases=['train'])`` to ``custom_hooks`` (validation stays fp32, so AP measures what bf16 training
did to the model).
Appends one JSON line (seed, precision, final metrics, training CPU s per epoch) to ``--out``.

``speed``: a training step of the same model in fp32 and under bf16 autocast, alternately in one
process (ABAB, every image's frozen prefix cached as at steady state, and with the cache off),
median CPU s and the per-round ratio.

``summary``: the paired (by seed) AP difference bf16 - fp32 with its 95 % t-interval.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from .common import quiet, spread

CONFIG = "tiny/dsla_fs_crowdhuman"
BF16_HOOK = dict(type="AutocastHook", dtype="bf16", phases=["train"])
def default_data_root() -> str:
    from .bench_throughput import tiny_data

    return tiny_data()[0]


def train(seed: int, precision: str, data_root: str, out: Path, epochs: int | None) -> dict:
    import torch
    from mmengine.runner import Runner

    from pipeline.runtime.epoch_records import read_epoch_records
    from pipeline.stages.train import EPOCHS_FILE, build_config, register_hooks

    from .bench_throughput import LoopClock

    torch.set_num_threads(1)
    register_hooks()
    quiet()
    with tempfile.TemporaryDirectory(prefix="bf16_") as tmp:
        work_dir = Path(tmp)
        cfg = build_config(config=CONFIG, data_root=data_root, overrides={}, seed=seed, work_dir=work_dir,
                           progress=False, val_every_epoch=False)
        if precision == "bf16":
            import dsla.engine.hooks.autocast_hook  # noqa: F401  (registers AutocastHook)
            cfg.custom_hooks = list(cfg.custom_hooks) + [dict(BF16_HOOK)]
        if epochs:
            cfg.train_cfg.max_epochs = epochs
            cfg.train_cfg.val_interval = epochs
        cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=10 ** 6, save_last=False)
        started, clock = time.time(), LoopClock()
        with clock.installed():
            Runner.from_cfg(cfg).train()
        records = read_epoch_records(str(work_dir / EPOCHS_FILE))
    row = {"seed": seed, "precision": precision, "epochs": cfg.train_cfg.max_epochs,
           "metrics": records[-1] if records else {}, "train_cpu_s_per_epoch": clock.epochs["train"],
           "val_cpu_s": clock.epochs["val"], "wall_s": time.time() - started,
           "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    with open(out, "a") as handle:
        handle.write(json.dumps(row) + "\n")
    return row


def t_interval(differences: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of paired differences (n >= 2), as the report's claims compute it
    (`pipeline.report.claims.paired_interval`)."""
    from pipeline.report.claims import paired_interval

    if len(differences) < 2:
        raise ValueError(f"a paired interval needs at least two differences, got {len(differences)}")
    return paired_interval(differences)


def summary(path: Path, metric: str) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by = {(row["precision"], row["seed"]): row for row in rows}
    seeds = sorted({seed for precision, seed in by if ("fp32", seed) in by and ("bf16", seed) in by})
    print(f"| seed | fp32 {metric} | bf16 {metric} | bf16 - fp32 | train CPU s/epoch fp32 | bf16 |")
    print("|---|---|---|---|---|---|")
    diffs = []
    for seed in seeds:
        a, b = by[("fp32", seed)], by[("bf16", seed)]
        va, vb = a["metrics"][metric], b["metrics"][metric]
        diffs.append(vb - va)
        print(f"| {seed} | {va:.4f} | {vb:.4f} | {vb - va:+.4f} | "
              f"{statistics.median(a['train_cpu_s_per_epoch']):.1f} | {statistics.median(b['train_cpu_s_per_epoch']):.1f} |")
    if len(diffs) >= 2:
        mean, low, high = t_interval(diffs)
        print(f"paired bf16 - fp32 {metric}: {mean:+.4f}, 95 % t-interval [{low:+.4f}, {high:+.4f}], n = {len(diffs)}")


def speed(rounds: int, data_root: str) -> None:
    import torch
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from dsla.engine.hooks.autocast_hook import Autocast
    from experiments import compose
    from pipeline.stages.train import set_data_root

    torch.set_num_threads(1)
    quiet()
    init_default_scope("mmdet")
    cfg = compose.load(CONFIG)
    set_data_root(cfg, data_root)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    model.bbox_head.set_soft_label_epoch(0, cfg.train_cfg.max_epochs)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    autocast = Autocast(model, "bf16", phases=())
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = next(iter(loader))
    times = {}
    for cache in (True, False):
        model.backbone.prefix_cache = cache
        for precision in ("fp32", "bf16"):
            times[(cache, precision)] = []
        for r in range(rounds + 1):  # the first round warms up (and fills the cache)
            order = ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")
            for precision in order:
                autocast.phases = ("train",) if precision == "bf16" else ()
                started = time.process_time()
                model.train_step(batch, wrapper)
                if r:
                    times[(cache, precision)].append(time.process_time() - started)
    for cache in (True, False):
        a, b = times[(cache, "fp32")], times[(cache, "bf16")]
        ratios = [x / y for x, y in zip(a, b)]
        q = spread(ratios)
        print(f"prefix cache {'on' if cache else 'off'}: step CPU s fp32 {statistics.median(a):.3f}, "
              f"bf16 {statistics.median(b):.3f}; speed-up fp32/bf16 median {statistics.median(ratios):.3f} "
              f"({q}), n = {len(ratios)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--seed", type=int, required=True)
    t.add_argument("--precision", choices=("fp32", "bf16"), required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--data-root", default=None)
    s = sub.add_parser("speed")
    s.add_argument("--rounds", type=int, default=10)
    s.add_argument("--data-root", default=None)
    m = sub.add_parser("summary")
    m.add_argument("path", type=Path)
    m.add_argument("--metric", default="AP")
    args = parser.parse_args()
    if args.command == "train":
        print(json.dumps(train(args.seed, args.precision, args.data_root or default_data_root(), args.out, args.epochs)))
    elif args.command == "speed":
        speed(args.rounds, args.data_root or default_data_root())
    else:
        summary(args.path, args.metric)


if __name__ == "__main__":
    main()
