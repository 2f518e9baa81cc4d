"""Parameters and FLOPs of a detector config, for inference or for training (Table 5).

    python -m dsla.analysis.complexity CONFIG [--phase infer|train] [--shape H W]

prints one JSON line: ``{"config", "phase", "input_shape", "params", "flops"}``.

* ``infer``: the deployed graph. A DSLA model is first converted to the baseline
  (``dsla.analysis.deploy``), the model is in eval mode, so only the O2O subnet runs.
* ``train``: the model as trained, in train mode: a DSLA head also computes the SLA subnet's
  outputs (the assignment and losses are not counted: they are not convolutions of the graph).

FLOPs are mmengine's ``FlopAnalyzer`` count (fvcore's convention: one multiply-add = one FLOP,
the convention of mmdet's ``get_flops`` that papers usually quote) for one image of
``input_shape``; parameters are all parameters of the (deployed or training) model.
"""
import argparse
import json
from typing import Sequence

import torch
from mmdet.registry import MODELS
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from dsla.analysis.deploy import deploy_model_config

PHASES = ('infer', 'train')


class TensorForward(nn.Module):
    """Expose a detector's tensor-mode forward (``model._forward(x)``) as ``forward(x)``."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor):
        return self.detector._forward(x)


def model_complexity(model_cfg: dict, phase: str = 'infer',
                     input_shape: Sequence[int] = (800, 1333)) -> dict:
    """Params and FLOPs of ``model_cfg`` for ``phase`` at ``input_shape`` (H, W)."""
    if phase not in PHASES:
        raise ValueError(f'phase must be one of {PHASES}, got {phase!r}')
    if phase == 'infer':
        model_cfg = deploy_model_config(model_cfg)
    init_default_scope('mmdet')
    model = MODELS.build(model_cfg)
    model.train(phase == 'train')
    height, width = (int(v) for v in input_shape)
    with torch.no_grad():
        info = get_model_complexity_info(TensorForward(model), input_shape=(3, height, width),
                                         show_table=False, show_arch=False)
    return dict(phase=phase, input_shape=[height, width],
                params=sum(p.numel() for p in model.parameters()), flops=int(info['flops']))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--phase', choices=PHASES, default='infer')
    parser.add_argument('--shape', type=int, nargs=2, default=(800, 1333), metavar=('H', 'W'))
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    result = model_complexity(cfg.model, args.phase, args.shape)
    print(json.dumps(dict(config=args.config, **result)))


if __name__ == '__main__':
    main()
