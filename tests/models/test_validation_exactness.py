"""Validation speed-ups keep the numbers; the bf16 opt-in stays an opt-in (issue 24).

- The synthetic crowd configs validate in batches of 8 (training: 4): on the tiny data (every image
  256x256) the predictions are bit for bit those of batches of 4, the batch size every recorded
  number was made with, and so are AP and MR^-2.
- ``AutocastHook`` (bf16) is in no project config; installed for training only, it leaves
  predictions bit for bit as they were, runs the training forward in bf16, hands the losses fp32
  head outputs, and keeps its frozen-prefix cache entries apart from fp32 ones.
"""
import copy

import pytest
import torch
from mmengine.runner import Runner

import dsla  # noqa: F401
from experiments import compose

CONFIG = 'tiny/dsla_fs_crowdhuman'
REFERENCE_BATCH = 4  # what every recorded validation used before issue 24


def tiny_config(data_root):
    from mmengine.registry import init_default_scope

    init_default_scope('mmdet')
    cfg = compose.load(CONFIG)
    root = f'{data_root}/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.val_evaluator.ann_file = cfg.test_evaluator.ann_file = root + 'annotation_val.odgt'
    cfg.model.backbone.checkpoint = None
    return cfg


def tiny_model(cfg):
    from mmdet.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def predict(model, cfg, batch_size):
    loader_cfg = copy.deepcopy(cfg.val_dataloader)
    loader_cfg.batch_size = batch_size
    outputs = []
    with torch.no_grad():
        for batch in Runner.build_dataloader(loader_cfg, seed=0):
            outputs.extend(model.val_step(batch))
    return outputs


def crowd_metrics(cfg, outputs):
    from mmdet.registry import METRICS

    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = {'classes': ('person',)}
    metric.process({}, [o.to_dict() for o in outputs])
    return metric.evaluate(len(outputs))


@pytest.fixture
def one_thread():
    """The threads every training and evaluation computes with (pipeline/runtime/resources.py);
    the kernels PyTorch picks, hence the bits, depend on it."""
    from pipeline.runtime.resources import compute_threads

    threads = torch.get_num_threads()
    torch.set_num_threads(compute_threads('tiny'))
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_the_configured_validation_batch_gives_the_bits_of_batches_of_4(tiny_crowd, one_thread):
    cfg = tiny_config(tiny_crowd)
    assert cfg.test_dataloader.batch_size == cfg.val_dataloader.batch_size
    model = tiny_model(cfg)
    configured = predict(model, cfg, cfg.val_dataloader.batch_size)
    reference = predict(model, cfg, REFERENCE_BATCH)
    assert len(configured) == len(reference) == 48
    for fast, plain in zip(configured, reference):
        assert fast.img_path == plain.img_path
        assert torch.equal(fast.pred_instances.bboxes, plain.pred_instances.bboxes), fast.img_path
        assert torch.equal(fast.pred_instances.scores, plain.pred_instances.scores), fast.img_path
    fast_metrics, plain_metrics = crowd_metrics(cfg, configured), crowd_metrics(cfg, reference)
    assert fast_metrics['crowdhuman/AP'] == plain_metrics['crowdhuman/AP']
    assert fast_metrics['crowdhuman/MR2'] == plain_metrics['crowdhuman/MR2']


def test_no_project_config_turns_autocast_on():
    for profile in compose.profiles():
        for variant in compose.VARIANTS:
            cfg = compose.load(compose.name(profile, variant, 'crowdhuman'))
            assert 'Autocast' not in repr(cfg.get('custom_hooks', [])), (profile, variant)
            assert 'autocast' not in repr(cfg.model).lower(), (profile, variant)


def crowd_batch():
    from benchmarks.detectors import crowd_batch as batch

    data = batch(2, 128, 128, 8, seed=0)
    for i, sample in enumerate(data['data_samples']):
        sample.set_metainfo(dict(img_path=f'image{i}.jpg', flip=False, flip_direction=None,
                                 batch_input_shape=(128, 128), pad_shape=(128, 128)))
    return data


def test_bf16_autocast_trains_in_bf16_and_predicts_as_fp32(tiny_crowd):
    from dsla.engine.hooks.autocast_hook import Autocast, AutocastHook

    cfg = tiny_config(tiny_crowd)
    model = tiny_model(cfg)
    model.bbox_head.set_soft_label_epoch(0, 12)
    data = crowd_batch()
    with torch.no_grad():
        plain_predictions = model.val_step(data)
        model.train()
        plain_losses = model(**model.data_preprocessor(data, True), mode='loss')
    autocast = Autocast(model, 'bf16', phases=('train',))
    seen = []
    model.bbox_head.register_forward_hook(lambda module, args, out: seen.append(out))
    with torch.no_grad():
        model.train()
        losses = model(**model.data_preprocessor(data, True), mode='loss')
        model.eval()
        predictions = model.val_step(data)
    # training: the head's outputs reach the losses as fp32, computed in bf16 (other numbers)
    dtypes = {t.dtype for level in seen[0] for t in level}
    assert dtypes == {torch.float32}
    assert any(not torch.equal(losses[k], plain_losses[k]) for k in plain_losses if k.startswith('loss'))
    for k in plain_losses:
        if k.startswith('loss'):
            assert torch.isfinite(losses[k]).all()
            assert float(losses[k]) == pytest.approx(float(plain_losses[k]), rel=0.1, abs=0.05), k
    # prediction (phase not listed): the fp32 bits
    for fast, plain in zip(predictions, plain_predictions):
        assert torch.equal(fast.pred_instances.bboxes, plain.pred_instances.bboxes)
        assert torch.equal(fast.pred_instances.scores, plain.pred_instances.scores)
    # the same images with and without autocast: separate prefix-cache entries
    keys = list(model.backbone._cache)
    assert len(keys) == 4 and sum('autocast' in key for key in keys) == 2
    autocast.phases = ('train', 'predict')
    with torch.no_grad():
        model.val_step(data)
    assert len(model.backbone._cache) == 4  # served the bf16 entries of the training forward
    with pytest.raises(ValueError, match='dtype'):
        AutocastHook(dtype='fp8')
