"""Train one mmdet config the way MMDetection users do: `python tools/train.py CONFIG [options]`.

    pipeline data synth                                              # data/synth_crowd/
    python tools/train.py smoke/dsla_crowdhuman           # a project config by name (experiments/compose.py)
    python tools/train.py tiny/dsla_crowdhuman \
        --cfg-options model.bbox_head.num_soft_anchors=8 train_cfg.max_epochs=4

The options are those of mmdet's own `tools/train.py` (the pip wheel does not ship it), with the
same meaning: `--work-dir` (default `work_dirs/<config name>`), `--cfg-options k=v ...`,
`--resume [CHECKPOINT]` (no value: the work dir's latest checkpoint), `--amp`, `--launcher`. The
configs' data roots are where `pipeline data synth` writes by default (the full synthetic sets:
a smoke config trains on 800 images here, not on the 18 of `pipeline run --profile smoke`); the
first line printed says which file and how many images. Nothing is tracked: for an MLflow run,
caching and resume by key use `pipeline train CONFIG` (same options; `--profile smoke` for the
profile's data, sharing the pipeline's cache).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python tools/train.py` from a checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="mmdet config file, or a project config by name: <profile>/<variant>_<dataset>")
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument("--resume", nargs="?", const="auto",
                        help="resume from CHECKPOINT, or without a value from the work dir's latest one")
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision (GPU)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
                        help="override config keys, e.g. model.bbox_head.t_min=0.3 train_cfg.max_epochs=4")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def build_config(args: argparse.Namespace):
    from experiments import compose

    cfg = compose.load(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(args.config).stem)
    if args.amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    from mmengine.runner import Runner

    from pipeline.graph import data_line

    # mmdet's habit, made explicit: a smoke config alone trains on the full synthetic set, not on
    # the few images `pipeline run --profile smoke` gives it; say which before minutes go by
    print(f"tools/train.py: {data_line(args.config, cfg)}", flush=True)

    from dsla.engine.safe_checkpoint import use_weights_only_loading

    # Resuming reads mmengine's own checkpoints, weights-only (as the pipeline does).
    use_weights_only_loading()
    Runner.from_cfg(cfg).train()


if __name__ == "__main__":
    main()
