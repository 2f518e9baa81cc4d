"""`python -m pipeline.runtime.train_worker CONFIG --launcher pytorch|slurm`: train one dumped config.

The process side of `pipeline.runtime.launch`: each launched process builds the Runner from the config
(mmengine initialises the process group from the launcher's environment) and trains; resume
and hooks are already set in the config by the train stage.
"""
from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--launcher", choices=("pytorch", "slurm", "none"), default="none")
    args = parser.parse_args(argv)

    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    from dsla.engine.safe_checkpoint import use_weights_only_loading

    use_weights_only_loading()  # also done by importing dsla (the config's custom_imports)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.launcher == "pytorch" and not torch.cuda.is_available():
        use_cpu_processes(cfg)
    Runner.from_cfg(cfg).train()


def use_cpu_processes(cfg) -> None:
    """Distributed training without GPUs: a gloo process group and DDP over CPU modules.

    mmengine's `init_dist` calls `torch.cuda.set_device` and its default DDP wrapper passes
    `device_ids=[LOCAL_RANK]`, both of which need CUDA. The Runner skips `init_dist` when a process
    group exists, so it is created here (rank and world size from torchrun's environment), and the
    wrapper gets `device_ids=None`, which is how DDP wraps a CPU module.
    """
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None, broadcast_buffers=False,
                                 find_unused_parameters=cfg.get("find_unused_parameters", False))


if __name__ == "__main__":
    main()
