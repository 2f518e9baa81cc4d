"""The speed-ups that keep fp32 keep the numbers (issue 24).

A smoke DSLA + FS training with the frozen-prefix feature cache (``MobileNetV2Features``'s
``prefix_cache``: blocks 0..frozen_stages computed once per distinct input, then reused) against
the same training without it: the first 20 iterations' losses agree to 1e-5 (in fact bit for bit)
and the final validation's AP and MR^-2 are equal. 4 epochs of 5 iterations, validated after
epochs 2 and 4, so epochs 2-4 and the second validation run on cached features.
"""
import json
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import dsla  # noqa: F401
from experiments import compose

CONFIG = 'smoke/dsla_fs_crowdhuman'  # a composed config (experiments/compose.py)
ITERATIONS = 20


class LossRecorder(Hook):
    """Every training iteration's loss terms, as floats."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append({k: float(v.detach()) for k, v in outputs.items() if k.startswith('loss')})


def train(data_root, work_dir, prefix_cache: bool):
    """Losses of every iteration, the last validation's metrics and the backbone's cache size of
    a 4-epoch smoke run (18 images in batches of 4: 5 iterations an epoch, 20 in all)."""
    cfg = compose.load(CONFIG)
    root = f'{data_root}/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.val_evaluator.ann_file = cfg.test_evaluator.ann_file = root + 'annotation_val.odgt'
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = 4
    cfg.train_cfg.val_interval = 2
    cfg.model.backbone.prefix_cache = prefix_cache
    runner = Runner.from_cfg(cfg)
    recorder = LossRecorder()
    runner.register_hook(recorder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner.train()
    finally:
        torch.set_num_threads(threads)
    lines = (Path(runner.log_dir) / 'vis_data' / 'scalars.json').read_text().splitlines()
    metrics = [json.loads(line) for line in lines if 'crowdhuman/AP' in line]
    return recorder.losses, metrics[-1], len(runner.model.backbone._cache)


@pytest.mark.slow
def test_prefix_cache_keeps_the_losses_and_the_ap(smoke_crowd, tmp_path):
    cached_losses, cached_metrics, cached = train(smoke_crowd, tmp_path / 'cached', prefix_cache=True)
    plain_losses, plain_metrics, _ = train(smoke_crowd, tmp_path / 'plain', prefix_cache=False)
    assert cached > 18  # the cache was used: training images (flipped or not) and validation images
    assert len(plain_losses) == ITERATIONS and len(cached_losses) == ITERATIONS
    for iteration, (fast, plain) in enumerate(zip(cached_losses, plain_losses)):
        assert fast.keys() == plain.keys()
        for name in plain:
            assert fast[name] == pytest.approx(plain[name], abs=1e-5, rel=0), (iteration, name)
    assert cached_metrics['crowdhuman/AP'] == plain_metrics['crowdhuman/AP']
    assert cached_metrics['crowdhuman/MR2'] == plain_metrics['crowdhuman/MR2']


def tiny_detector():
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    init_default_scope('mmdet')
    cfg = compose.load(CONFIG)
    cfg.model.backbone.checkpoint = None
    cfg.model.backbone.prefix_cache = True
    return MODELS.build(cfg.model).eval()


def samples(names):
    from mmdet.structures import DetDataSample

    return [DetDataSample(metainfo=dict(img_path=name, flip=False, img_shape=(64, 64))) for name in names]


def test_prefix_cache_serves_the_same_bits_in_any_batch_and_misses_changed_pixels():
    detector = tiny_detector()
    backbone = detector.backbone
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(4, 3, 64, 64, generator=generator)
    with torch.no_grad():
        backbone.prefix_cache = False
        plain = backbone(images[2:])
        backbone.prefix_cache = True
        backbone.sample_keys = detector.sample_keys(images, samples('abcd'))
        backbone(images)  # fills the cache with a, b, c, d
        assert len(backbone._cache) == 4
        # c from the cache beside d from the cache: the bits of computing both together
        backbone.sample_keys = detector.sample_keys(images[2:], samples('cd'))
        for cached, computed in zip(backbone(images[2:]), plain):
            assert torch.equal(cached, computed)
        # the same file name with other pixels (e.g. a random photometric transform) is a miss
        changed = images[2:] + 1
        backbone.sample_keys = detector.sample_keys(changed, samples('cd'))
        backbone.prefix_cache = True
        served = backbone(changed)
        backbone.prefix_cache = False
        for cached, computed in zip(served, backbone(changed)):
            assert torch.equal(cached, computed)


def test_loading_weights_empties_the_prefix_cache():
    detector = tiny_detector()
    with torch.no_grad():
        images = torch.zeros(1, 3, 64, 64)
        detector.backbone.sample_keys = detector.sample_keys(images, samples('a'))
        detector.backbone(images)
    assert len(detector.backbone._cache) == 1
    detector.load_state_dict(detector.state_dict())
    assert len(detector.backbone._cache) == 0
