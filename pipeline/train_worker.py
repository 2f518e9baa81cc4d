"""`python -m pipeline.train_worker CONFIG --launcher pytorch|slurm`: train one dumped config.

The process side of `pipeline.launch`: each launched process builds the Runner from the config
(mmengine initialises the process group from the launcher's environment) and trains; resume
and hooks are already set in the config by the train stage.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--launcher", choices=("pytorch", "slurm", "none"), default="none")
    args = parser.parse_args(argv)

    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    from .checkpoints import trust_checkpoints_under

    trust_checkpoints_under(Path(args.config).resolve().parent)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.launcher != "none" and not torch.cuda.is_available():
        cfg.env_cfg.setdefault("dist_cfg", {})["backend"] = "gloo"  # CPU-only processes
    Runner.from_cfg(cfg).train()


if __name__ == "__main__":
    main()
