"""channels_last memory format on the tiny DSLA + FS training step: same numbers? faster? (issue 24)

    .venv/bin/python -m benchmarks.bench_channels_last [--rounds 10] [--data-root DIR]

One torch thread. Two copies of one initialised model, one converted to channels_last (weights and
the input), trained on the same first 3 batches of the tiny crowd data: each step's losses side by
side (the issue's exactness bar: equal to 1e-5); then a training step of each, alternately (ABAB),
median CPU s and the per-round speed-up.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time

from .common import quiet, spread


def main() -> None:
    import torch
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from experiments import compose
    from pipeline.stages.train import set_data_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    if args.data_root is None:
        from .bench_throughput import tiny_data
        args.data_root = tiny_data()[0]
    torch.set_num_threads(1)
    quiet()
    init_default_scope("mmdet")
    cfg = compose.load("tiny/dsla_fs_crowdhuman")
    set_data_root(cfg, args.data_root)
    torch.manual_seed(0)
    base = MODELS.build(cfg.model)
    base.init_weights()
    batches = [batch for _, batch in zip(range(3), Runner.build_dataloader(cfg.train_dataloader, seed=0))]

    def make(channels_last: bool):
        model = copy.deepcopy(base)
        model.train()
        model.bbox_head.set_soft_label_epoch(0, cfg.train_cfg.max_epochs)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
            extract = model.extract_feat
            model.extract_feat = lambda x: extract(x.contiguous(memory_format=torch.channels_last))
        return model, build_optim_wrapper(model, cfg.optim_wrapper)
    models = {layout: make(layout) for layout in (False, True)}
    print("| step | loss, contiguous | loss, channels_last | abs. difference | every loss term equal? |")
    print("|---|---|---|---|---|")
    for i, batch in enumerate(batches):
        losses = {layout: models[layout][0].train_step(batch, models[layout][1]) for layout in (False, True)}
        a, b = float(losses[False]["loss"]), float(losses[True]["loss"])
        equal = all(torch.equal(losses[False][k], losses[True][k]) for k in losses[False])
        print(f"| {i} | {a:.7f} | {b:.7f} | {abs(a - b):.1e} | {'yes' if equal else 'no'} |")
    times = {False: [], True: []}
    for r in range(args.rounds + 1):
        for layout in (False, True) if r % 2 == 0 else (True, False):
            started = time.process_time()
            models[layout][0].train_step(batches[0], models[layout][1])
            if r:
                times[layout].append(time.process_time() - started)
    ratios = [a / b for a, b in zip(times[False], times[True])]
    print(f"- step CPU s: contiguous {statistics.median(times[False]):.3f}, channels_last "
          f"{statistics.median(times[True]):.3f}; speed-up median {statistics.median(ratios):.3f} "
          f"({spread(ratios)}), n = {len(ratios)}")


if __name__ == "__main__":
    main()
