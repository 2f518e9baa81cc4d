"""The models and inputs the benchmarks time: configs by profile, matched baseline/DSLA pairs,
and synthetic crowd batches in the layout mmdet's ``data_preprocessor`` takes.

Models come from the project's configs (``<profile>/<variant>_crowdhuman`` (experiments/compose.py)),
randomly initialised (the paper profile's ImageNet checkpoint is switched off). A "pair" is the
baseline and the DSLA model with the same weights on every shared layer, so the only difference
between their steps is the SLA subnet.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from mmengine.config import Config

DATASET = "crowdhuman"
PEDESTRIAN_ASPECT = 0.41  # CrowdHuman full-body boxes: width ≈ 0.41 × height


def load_config(profile: str, variant: str) -> Config:
    """The composed config ``<profile>/<variant>_crowdhuman`` (experiments/compose.py), backbone from scratch."""
    from experiments import compose

    cfg = compose.compose(profile, variant, DATASET)
    cfg.model.backbone.init_cfg = None
    if "checkpoint" in cfg.model.backbone:  # smoke/tiny: MobileNetV2Features loads ImageNet weights itself
        cfg.model.backbone.checkpoint = None
    return cfg


def build_detector(cfg: Config, epoch: int = 0):
    """The detector of ``cfg``, initialised, in train mode; a DSLA head is told the epoch
    (what ``SoftLabelScheduleHook`` does in training)."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope("mmdet")
    model = MODELS.build(cfg.model)
    model.init_weights()
    if hasattr(model.bbox_head, "set_soft_label_epoch"):
        model.bbox_head.set_soft_label_epoch(epoch, cfg.train_cfg.max_epochs)
    return model.train()


class Pair(NamedTuple):
    baseline: torch.nn.Module
    dsla: torch.nn.Module
    baseline_cfg: Config
    dsla_cfg: Config


def matched_pair(profile: str) -> Pair:
    """Baseline and DSLA models of ``profile`` whose shared layers hold the same weights."""
    from dsla.analysis.deploy import deploy_state_dict

    baseline_cfg, dsla_cfg = load_config(profile, "baseline"), load_config(profile, "dsla")
    dsla = build_detector(dsla_cfg)
    baseline = build_detector(baseline_cfg)
    baseline.load_state_dict(deploy_state_dict(dsla.state_dict()), strict=True)
    return Pair(baseline, dsla, baseline_cfg, dsla_cfg)


def crowd_boxes(num: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """``num`` pedestrian-shaped boxes (x1, y1, x2, y2) scattered over the image, overlapping as
    in a crowd: heights 8–50 % of the image, width 0.41 × height, clipped to the image."""
    box_h = (0.08 + 0.42 * torch.rand(num, generator=generator)) * height
    box_w = PEDESTRIAN_ASPECT * box_h
    cx = torch.rand(num, generator=generator) * width
    cy = torch.rand(num, generator=generator) * height
    boxes = torch.stack([cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2], dim=1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
    return boxes


def crowd_batch(batch_size: int, height: int, width: int, num_instances: int, seed: int = 0,
                with_gt: bool = True) -> dict:
    """A batch as a dataloader yields it: uint8 images and ``DetDataSample``s with
    ``num_instances`` pedestrian boxes each (class 0)."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    generator = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator))
        sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                             scale_factor=(1.0, 1.0)))
        if with_gt:
            sample.gt_instances = InstanceData(
                bboxes=crowd_boxes(num_instances, height, width, generator),
                labels=torch.zeros(num_instances, dtype=torch.long))
        samples.append(sample)
    return {"inputs": inputs, "data_samples": samples}


def train_step(model, cfg: Config, batch: dict):
    """A closure doing one mmengine training step (forward, loss, backward, optimiser step) with
    the config's optimiser wrapper, as the Runner's train loop does."""
    from mmengine.optim import build_optim_wrapper

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    return lambda: model.train_step(batch, optim_wrapper)


def size_label(height: int, width: int) -> str:
    return f"{width}×{height}"
