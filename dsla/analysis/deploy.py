"""Convert a trained DSLA model into the baseline's exact parameter set (the SLA subnet dropped).

    python -m dsla.analysis.deploy CONFIG CHECKPOINT OUT_DIR

writes ``OUT_DIR/deployed_config.py`` (the baseline ``O2OHead`` config with the DSLA model's
backbone, neck and shared head settings) and ``OUT_DIR/deployed.pth`` (its state dict).
"""
import argparse
import copy
import inspect
from pathlib import Path

import torch
from mmdet.models.dense_heads import AnchorFreeHead
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from dsla.engine.safe_checkpoint import UnsafeCheckpointError, load_checkpoint_file
from dsla.models.dense_heads import DSLAHead, O2OHead

SLA_PREFIX = 'bbox_head.sla_'  # every SLA-subnet parameter lives under this prefix


def _dsla_only_arguments() -> set:
    """Constructor arguments of DSLAHead that the baseline head does not take."""
    def names(cls):
        return set(inspect.signature(cls.__init__).parameters)
    return names(DSLAHead) - names(O2OHead) - names(AnchorFreeHead)


def deploy_model_config(model_cfg: dict) -> dict:
    """The baseline model config of a DSLA model config (unchanged if it has no DSLA head).

    The head becomes ``O2OHead`` without DSLA's arguments and without ``init_cfg`` (deployed
    weights come from the trained model; DSLA's init_cfg names the SLA layers)."""
    model_cfg = copy.deepcopy(model_cfg)
    head = model_cfg['bbox_head']
    if head['type'] in ('DSLAHead', DSLAHead):
        for key in _dsla_only_arguments() | {'init_cfg'}:
            head.pop(key, None)
        head['type'] = 'O2OHead'
    return model_cfg


def deploy_state_dict(state_dict: dict) -> dict:
    """The state dict without the SLA subnet's parameters."""
    return {key: value for key, value in state_dict.items() if not key.startswith(SLA_PREFIX)}


def deploy_model(model: nn.Module, model_cfg: dict) -> nn.Module:
    """Build the baseline detector and load the DSLA detector's O2O-side weights into it.

    Loading is strict, so the deployed model has exactly the baseline's parameters: a missing
    or extra key is an error."""
    init_default_scope('mmdet')
    deployed = MODELS.build(deploy_model_config(model_cfg))
    deployed.load_state_dict(deploy_state_dict(model.state_dict()), strict=True)
    return deployed.eval()


def load_state_dict_file(path: str | Path) -> dict:
    """The state dict of a checkpoint file, loaded weights-only: a pickle that names anything but
    tensors, containers and mmengine's log buffers is refused and none of its code runs
    (:func:`dsla.engine.safe_checkpoint.load_checkpoint_file`)."""
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    return checkpoint.get('state_dict', checkpoint)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out_dir')
    args = parser.parse_args(argv)
    try:
        state_dict = load_state_dict_file(args.checkpoint)
    except (FileNotFoundError, UnsafeCheckpointError) as error:
        parser.exit(2, f'{parser.prog}: error: {error}\n')
    cfg = Config.fromfile(args.config)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.load_state_dict(state_dict, strict=True)
    deployed = deploy_model(model, cfg.model)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg.model = deploy_model_config(cfg.model)
    cfg.custom_hooks = [hook for hook in cfg.get('custom_hooks', [])
                        if hook.get('type') != 'SoftLabelScheduleHook']
    cfg.dump(str(out_dir / 'deployed_config.py'))
    torch.save({'state_dict': deployed.state_dict()}, out_dir / 'deployed.pth')
    print(f'deployed: {sum(p.numel() for p in deployed.parameters())} parameters -> {out_dir}')


if __name__ == '__main__':
    main()
