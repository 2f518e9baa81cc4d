"""Where a Figure 4 validation goes: the 200 curve images of a tiny run, by part (issue 24).

    .venv/bin/python -m benchmarks.bench_validation --checkpoint work_dirs/<key>/epoch_12.pth [--rounds 5]

One torch thread. A trained tiny model (``--config``, default ``tiny/baseline_crowdhuman``, the
checkpoint of a finished tiny training: DSLA + FS predicts with the same O2O head, its SLA branch
does not predict, and Feature Shuffle only acts in training) on the tiny prepared crowd
data's curve subset (the first 200 validation images), built as the train stage builds a Figure 4
run (``pipeline.stages.train.build_config`` + ``set_curve_annotations``). Per round, CPU seconds of:

- ``loader``: iterating the validation dataloader (decode, resize, pack, collate);
- ``forward``: ``model.val_step`` on the collected batches (data preprocessor + predict), every
  image's frozen prefix in the cache, as at every validation after the first;
- ``metric``: ``evaluator.process`` on those outputs and ``evaluator.evaluate(200)``;
- ``loop``: mmengine's whole ``ValLoop.run()`` (loader + forward + metric + hooks + logging), the
  prefix cache warm; ``loop - (loader + forward + metric)`` is mmengine's overhead.

Also: the train epoch of the same config (48 iterations, prefix cache warm) for the share, and the
variants tried (``--variants``) as ratios to ``loop`` within each round.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from .common import load_note, machine, machine_lines, quiet, spread, timed

CURVE = "annotation_val_curve.odgt"


def build_runner(config: str, data_root: str, checkpoint: str, work_dir: Path, val_batch: int | None = None):
    from mmengine.runner import Runner

    from pipeline.profiles import write_curve_subset
    from pipeline.stages.train import build_config, register_hooks, set_curve_annotations

    register_hooks()
    curve = CURVE if (Path(data_root) / CURVE).is_file() else \
        write_curve_subset(Path(data_root), "annotation_val.odgt", 200)
    cfg = build_config(config=config, data_root=data_root, overrides={}, seed=0, work_dir=work_dir,
                       progress=False, description="bench")
    set_curve_annotations(cfg, data_root, curve)
    if val_batch is not None:
        cfg.val_dataloader.batch_size = val_batch
    cfg.resume = False
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    quiet()
    runner.load_or_resume()
    return runner


def cpu(function):
    """``function()``'s result and the CPU seconds of this process it took (``common.timed``)."""
    result, _, seconds = timed(function)
    return result, seconds


def parts(runner) -> dict:
    """CPU s of the loader, forward, metric and the whole loop, one validation each."""
    import torch

    model = runner.model
    model.eval()
    loader = runner.val_dataloader
    batches, t_loader = cpu(lambda: list(loader))

    def forward():
        with torch.no_grad():
            return [model.val_step(batch) for batch in batches]
    outputs, t_forward = cpu(forward)
    evaluator = runner.val_evaluator

    def metric():
        for batch, out in zip(batches, outputs):
            evaluator.process(data_samples=out, data_batch=batch)
        return evaluator.evaluate(len(loader.dataset))
    metrics, t_metric = cpu(metric)
    _, t_loop = cpu(runner.val_loop.run)
    return {"loader": t_loader, "forward": t_forward, "metric": t_metric, "loop": t_loop,
            "overhead": t_loop - t_loader - t_forward - t_metric, "AP": metrics.get("crowdhuman/AP")}


def train_epoch(runner) -> float:
    """CPU s of one training epoch (48 iterations) of this runner's model and loader."""
    import torch
    from mmengine.optim import build_optim_wrapper

    model = runner.model
    model.train()
    wrapper = build_optim_wrapper(model, runner.cfg.optim_wrapper)
    import copy
    state = copy.deepcopy(model.state_dict())

    def epoch():
        for batch in runner.train_dataloader:
            model.train_step(batch, wrapper)
    _, seconds = cpu(epoch)
    with torch.no_grad():  # the validations keep measuring the trained weights; copied in place,
        for name, value in model.state_dict().items():  # as load_state_dict would empty the prefix cache
            value.copy_(state[name])
    model.eval()
    return seconds


def main() -> None:
    import os

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--config", default="tiny/baseline_crowdhuman")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--train", action="store_true", help="also time a training epoch per round")
    parser.add_argument("--bf16", action="store_true",
                        help="also the validation loop under the bf16 autocast opt-in (AutocastHook, phase predict), ABAB")
    parser.add_argument("--val-batch", type=int, default=None, help="validation batch (default: the config's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.data_root is None:
        from .bench_throughput import tiny_data
        args.data_root = tiny_data()[0]
    from dsla.engine.safe_checkpoint import use_weights_only_loading
    use_weights_only_loading()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-val-") as tmp:
        runner = build_runner(args.config, args.data_root, args.checkpoint, Path(tmp), args.val_batch)
        first = parts(runner)  # fills the prefix cache
        rows, trains = [], []
        for _ in range(args.rounds):
            rows.append(parts(runner))
            if args.train:
                trains.append(train_epoch(runner))
        bf16 = []
        if args.bf16:
            from dsla.engine.hooks.autocast_hook import Autocast

            autocast = Autocast(runner.model, "bf16", phases=())
            for r in range(args.rounds + 1):  # round 0 fills the bf16 prefix-cache entries
                pair = {}
                for phases in ((), ("predict",)) if r % 2 else (("predict",), ()):
                    autocast.phases = phases
                    metrics = {}
                    _, seconds = cpu(lambda metrics=metrics: metrics.update(runner.val_loop.run()))
                    pair[phases] = (seconds, metrics["crowdhuman/AP"])
                if r:
                    bf16.append(pair)
    info = machine()
    print("\n".join(machine_lines(info)))
    print(f"- {args.config}, validation batch {runner.val_dataloader.batch_size}, checkpoint {args.checkpoint}")
    print(f"- first validation (prefix cache cold): {first['loop']:.2f} CPU s, AP {first['AP']:.4f}")
    print("| part of one validation of the 200 curve images (prefix cache warm) | median CPU s | IQR | share of the loop |")
    print("|---|---|---|---|")
    loop = statistics.median(r["loop"] for r in rows)
    for part in ("loader", "forward", "metric", "overhead", "loop"):
        values = [r[part] for r in rows]
        print(f"| {part} | {statistics.median(values):.3f} | {spread(values)} | {statistics.median(values) / loop:.1%} |")
    print(f"- n = {len(rows)} rounds; AP of every round {sorted({round(r['AP'], 6) for r in rows})}")
    if trains:
        shares = [r["loop"] / (r["loop"] + t) for r, t in zip(rows, trains)]
        print(f"- train epoch (48 it., prefix cache warm) median {statistics.median(trains):.2f} CPU s "
              f"({spread(trains)}); validation share of a Figure 4 epoch median {statistics.median(shares):.3f} "
              f"({spread(shares)}), n = {len(shares)}")
    if bf16:
        ratios = [p[()][0] / p[("predict",)][0] for p in bf16]
        print(f"- bf16 autocast in validation (opt-in): loop fp32 {statistics.median(p[()][0] for p in bf16):.3f}, "
              f"bf16 {statistics.median(p[('predict',)][0] for p in bf16):.3f} CPU s; speed-up median "
              f"{statistics.median(ratios):.3f} ({spread(ratios)}), n = {len(ratios)}; AP fp32 "
              f"{bf16[0][()][1]:.4f}, bf16 {bf16[0][('predict',)][1]:.4f}")
    print(f"- load: {load_note(os.getloadavg()[0], info.get('cores', 2), 1)}; {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
