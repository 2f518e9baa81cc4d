"""`pipeline train CONFIG`: any mmdet config trained the pipeline's way (tracked, cached, resumable).

    pipeline data synth                                     # data/synth_crowd/, the configs' data root
    pipeline train smoke/dsla_crowdhuman
    pipeline train tiny/dsla_crowdhuman \
        --cfg-options model.bbox_head.num_soft_anchors=8 train_cfg.max_epochs=4
    pipeline train my_config.py --profile tiny              # on the data `pipeline run --profile tiny` prepares

CONFIG is a config of the project by name (`<profile>/<variant>_<dataset>`, composed by
experiments/compose.py; the old path experiments/configs/<profile>/<variant>_<dataset>.py still
names it) or your own (one that imports `dsla`,
e.g. with `_base_` pointing at a project config). `--cfg-options` are mmdet's (same syntax as
`tools/train.py`). The run is one node of the pipeline's `train` stage:
- its key hashes the config and its `_base_` files, the options, the seed, the code and the data
  (the annotation files of the config's own data roots, or the profile's prepared data), so the
  same command again reuses the result, and a killed run resumes from its last checkpoint; with
  `--profile P`, a project config of P's folder (options that set method knobs only) is the very
  training node of `pipeline run --profile P`: one key, one cache, one work dir;
- before it starts it says in one line what data it trains on (without `--profile`: the
  annotation file and how many images it lists; a smoke config alone reads the full synthetic set);
- the knob rules of `pipeline run` apply (K >= 1, T^min <= T^max, ranges): exit 2, one line;
- it is an MLflow run (experiment `dsla/<profile>/<dataset>`; the profile is `--profile`, else
  the project config's profile, else `custom`) with the knobs as params and the
  per-epoch curves, like the runs of `pipeline run`.
"""
from __future__ import annotations

import argparse
import sys
import time

from ..redact import redact
from ..runtime.launch import LAUNCHERS
from .run import STORE_DIR, WORK_DIR


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train one mmdet config, tracked in MLflow, cached and resumable",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="a project config by name (tiny/dsla_crowdhuman) or an mmdet config file of "
                                       "your own that imports dsla")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config keys as mmdet's tools/train.py does, e.g. model.bbox_head.t_min=0.3 "
                             "train_cfg.max_epochs=4 (a,b or [a,b] for lists)")
    parser.add_argument("--profile", choices=("smoke", "tiny", "paper"),
                        help="train on the data this profile prepares (default: the config's own data roots, "
                             "where `pipeline data synth` writes)")
    parser.add_argument("--data-root", help="with --profile paper: the real data (CrowdHuman/ and coco/ inside)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite:///<cwd>/mlflow.db)")
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none",
                        help="how training runs: in this process, torchrun (pytorch) or Slurm")
    parser.add_argument("--nproc", type=int, default=1, help="processes with --launcher pytorch")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs (tasks) with --launcher slurm")
    parser.add_argument("--slurm-partition", help="Slurm partition for --launcher slurm")
    parser.add_argument("--dry-run", action="store_true", help="say whether it would train or reuse, and why")
    parser.add_argument("--no-progress", action="store_true", help="no epoch progress bar")
    parser.add_argument("--verbose", action="store_true", help="show mmengine's console log (always in the work dir)")
    parser.set_defaults(func=train_command)


def parse_cfg_options(pairs: list[str]) -> dict:
    """`["a.b=1", "c=x,y"]` -> `{"a.b": 1, "c": ["x", "y"]}`, with mmengine's DictAction parsing."""
    from mmengine.config import DictAction

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--cfg-options {pair!r}: expected KEY=VALUE")
        options[key] = DictAction._parse_iterable(value)
    return options


def train_command(args) -> int:
    from .. import engine
    from ..engine import interrupts
    from ..engine.store import ResultStore
    from ..graph import config_training

    try:
        node = config_training(args.config, seed=args.seed, cfg_options=parse_cfg_options(args.cfg_options),
                               profile=args.profile, data_root=args.data_root)
    except (ValueError, FileNotFoundError, KeyError, SyntaxError) as exc:
        print(f"pipeline train: {redact(exc)}", file=sys.stderr)
        return 2
    if "prepared" in node.inputs:
        print(f"{node.name}: on the data `pipeline run --profile {args.profile}` prepares "
              f"({node.inputs['prepared'].name}); shares the pipeline's cache for the same training", flush=True)
    else:
        from ..graph import data_line
        print(f"{node.name}: {data_line(args.config)}", flush=True)
    store = ResultStore(STORE_DIR)
    if args.dry_run:
        for item in engine.plan([node], store):
            print(f"{item.action:6} {item.node.name:60} {item.reason}")
        return 0
    from ..tracking import Tracker, TrackingUnavailable, check_reachable, default_tracking_uri
    uri = args.tracking_uri or default_tracking_uri()
    try:
        check_reachable(uri)
    except TrackingUnavailable as exc:
        print(f"pipeline train: {redact(exc)}", file=sys.stderr)
        return 2
    tracker = Tracker(uri, node.params["profile"])
    settings = {"launcher": args.launcher, "nproc": args.nproc, "gpus": args.gpus, "partition": args.slurm_partition,
                "progress": not args.no_progress, "quiet": not args.verbose}
    started = time.time()
    interrupts.install_sigterm()
    try:
        report = engine.run([node], store, work_root=WORK_DIR, tracker=tracker, settings=settings)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM): one line, not mmengine's traceback
        terminated = interrupts.last_signal() == "SIGTERM"
        print(f"\npipeline train: {'terminated (SIGTERM)' if terminated else 'interrupted'}; nothing was recorded "
              "as failed, the training resumes from its last checkpoint: run the same command to go on",
              file=sys.stderr)
        return 143 if terminated else 130
    outcome = report.outcomes[node.key]
    if outcome.result is None:
        failed = [o for o in report.outcomes.values() if o.error]
        print(f"pipeline train: {node.name}: {outcome.status}: {redact((failed or [outcome])[0].error)}", file=sys.stderr)
        return 1
    result = outcome.result
    final = {k: v for k, v in result["final"].items() if k != "epoch"}
    how = "reused (cached)" if outcome.status == engine.CACHED else f"trained in {time.time() - started:.0f} s"
    print(f"{node.name}: {how}; {len(result['epochs'])} epochs; last validation: "
          + ", ".join(f"{k} {v:.4f}" for k, v in final.items()) + " (fractions)")
    print(f"work dir:   {result['work_dir']}\ncheckpoint: {result['checkpoint']}")
    experiment = f"dsla/{node.params['profile']}/{node.params['dataset']}"
    print(f"MLflow:     run {outcome.run_id} in {redact(uri)} (experiment {experiment})")
    return 0
