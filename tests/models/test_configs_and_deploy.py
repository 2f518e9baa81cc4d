"""Configs of the three profiles, deployment DSLA -> baseline, params/FLOPs, backbone init."""
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import dsla  # noqa: F401
from dsla.analysis.complexity import model_complexity
from dsla.analysis.deploy import deploy_model, deploy_model_config
from experiments import compose

CONFIGS = Path(__file__).resolve().parents[2] / 'experiments' / 'configs'
PROFILES = ('smoke', 'tiny', 'paper')
DATASETS = ('crowdhuman', 'coco')
VARIANTS = ('baseline', 'fs', 'dsla', 'dsla_fs')


def load(profile, variant, dataset):
    return compose.compose(profile, variant, dataset)


def build(cfg):
    init_default_scope('mmdet')
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('profile', PROFILES)
@pytest.mark.parametrize('dataset', DATASETS)
def test_variants_differ_only_in_neck_head_and_hook(profile, dataset):
    cfgs = {variant: load(profile, variant, dataset).to_dict() for variant in VARIANTS}
    base = cfgs['baseline']
    for variant, cfg in cfgs.items():
        assert cfg['custom_imports']['imports'] == ['dsla']
        necks = cfg['model']['neck']
        if 'fs' in variant:
            assert [n['type'] for n in necks] == ['FPN', 'FeatureShuffle']
            assert necks[0] == base['model']['neck']
            assert 2 * necks[1]['shuffle_channels'] == necks[0]['out_channels'] // 2  # S = C/4
        else:
            assert necks == base['model']['neck']
        head = cfg['model']['bbox_head']
        if 'dsla' in variant:
            assert head['type'] == 'DSLAHead'
            assert (head['num_soft_anchors'], head['t_max'], head['t_min']) == (6, 0.6, 0.4)
            assert (head['soft_anchor_weight'], head['center_radius']) == (1.0, 1.5)
            assert cfg['custom_hooks'] == [dict(type='SoftLabelScheduleHook')]
            head = {k: v for k, v in head.items() if k not in (
                'num_soft_anchors', 't_max', 't_min', 'lambda_o2o', 'lambda_sla',
                'soft_anchor_weight', 'center_radius')}
            head['type'] = 'O2OHead'
        assert head == base['model']['bbox_head']
        rest = {k: v for k, v in cfg.items() if k not in ('model', 'custom_hooks', 'dsla_head')}
        base_rest = {k: v for k, v in base.items() if k not in ('model', 'custom_hooks')}
        assert rest == base_rest


@pytest.mark.parametrize('profile', PROFILES)
@pytest.mark.parametrize('dataset', DATASETS)
def test_baseline_and_dsla_o2o_subnet_are_onenet(profile, dataset):
    """The paper's baseline and O2O branch is OneNet: its matching and its loss weights."""
    for variant in VARIANTS:
        init_default_scope('mmdet')
        head = MODELS.build(load(profile, variant, dataset).model.bbox_head)
        assert type(head.assigner).__name__ == 'MinCostAssigner', variant
        assert (head.assigner.weights, head.assigner.alpha, head.assigner.gamma) == (
            (2.0, 5.0, 2.0), 0.25, 2.0)
        assert (head.loss_cls.loss_weight, head.loss_cls.alpha, head.loss_cls.gamma) == (
            2.0, 0.25, 2.0)
        assert type(head.loss_bbox).__name__ == 'GIoULoss' and head.loss_bbox.loss_weight == 2.0
        assert type(head.loss_l1).__name__ == 'L1Loss' and head.loss_l1.loss_weight == 5.0
        if 'dsla' in variant:
            assert type(head.sla_assigner).__name__ == 'SoftLabelAssigner'
            assert head.sla_assigner.center_radius == 1.5
            assert head.soft_anchor_weight == 1.0


def test_eq2_matching_is_a_named_option_for_the_o2o_subnet():
    """The config option reaches the O2O subnet's assignment: with it every positive lies in its
    instance's centre region Ω_j (radius 1.5); OneNet's default matching, which has no prior,
    puts some outside on the same (random-weight) predictions."""
    from mmengine.structures import InstanceData

    from dsla.models.task_modules.assigners.one_to_one_assigner import prior_region

    heads = {}
    for name, assigner in (('eq2', dict(type='OneToOneAssigner', center_radius=1.5)), ('onenet', None)):
        cfg = load('tiny', 'dsla', 'crowdhuman')
        if assigner:
            cfg.model.bbox_head.assigner = assigner
        init_default_scope('mmdet')
        torch.manual_seed(0)
        heads[name] = MODELS.build(cfg.model.bbox_head)
        heads[name].init_weights()
    torch.manual_seed(1)
    feats = tuple(torch.randn(1, 64, 256 // s, 256 // s) for s in (8, 16, 32, 64))
    g = torch.Generator().manual_seed(2)
    xy = torch.rand(12, 2, generator=g) * 180
    gt = InstanceData(bboxes=torch.cat([xy, xy + torch.tensor([24., 60.])], 1),
                      labels=torch.zeros(12, dtype=torch.long))
    meta = dict(img_shape=(256, 256), pad_shape=(256, 256))
    inside = {}
    for name, head in heads.items():
        head.train()
        with torch.no_grad():
            cls_scores, bbox_preds = head(feats)[:2]
        outputs = head.flatten_branch(cls_scores, bbox_preds)
        result = head.assign_batch(head.assigner, outputs, [gt], None, [meta])[0]
        point = (result.gt_inds > 0).nonzero().flatten()
        region = prior_region(outputs.priors, gt.bboxes, 1.5)  # (N, M)
        inside[name] = region[point, result.gt_inds[point] - 1]
        assert len(point) == 12, name  # one positive per instance
    assert inside['eq2'].all()
    assert not inside['onenet'].all()


def test_the_prior_rows_dotted_override_builds():
    """`assigner.type=OneToOneAssigner` as a row override drops MinCostAssigner's arguments
    (experiments/compose.py's type rule): merged key by key, the head would not build."""
    cfg = load('smoke', 'baseline', 'crowdhuman')
    compose.apply_overrides(cfg, {'model.bbox_head.assigner.type': 'OneToOneAssigner'})
    init_default_scope('mmdet')
    head = MODELS.build(cfg.model.bbox_head)
    assert type(head.assigner).__name__ == 'OneToOneAssigner'
    merged = load('smoke', 'baseline', 'crowdhuman')
    merged.merge_from_dict({'model.bbox_head.assigner.type': 'OneToOneAssigner'})  # mmengine alone
    with pytest.raises(TypeError, match='class_weight'):
        MODELS.build(merged.model.bbox_head)


def test_paper_profile_settings():
    crowd, coco = load('paper', 'dsla_fs', 'crowdhuman'), load('paper', 'dsla_fs', 'coco')
    model = crowd.model
    assert model.backbone.depth == 50 and model.backbone.init_cfg.type == 'Pretrained'
    assert model.neck[0].out_channels == 256 and model.neck[1].shuffle_channels == 64
    assert crowd.optim_wrapper.optimizer.type == 'AdamW'
    assert crowd.optim_wrapper.optimizer.lr == 1e-3 and coco.optim_wrapper.optimizer.lr == 4e-4
    assert crowd.optim_wrapper.optimizer.weight_decay == 1e-4
    assert crowd.optim_wrapper.clip_grad.max_norm > 0
    assert crowd.train_cfg.max_epochs == 36 and crowd.train_cfg.val_interval == 1
    assert crowd.train_dataloader.batch_size * 4 == crowd.auto_scale_lr.base_batch_size == 16
    assert coco.model.bbox_head.num_classes == 80 and crowd.model.bbox_head.num_classes == 1


def test_deployed_dsla_is_the_baseline():
    dsla_cfg, base_cfg = load('smoke', 'dsla_fs', 'crowdhuman'), load('smoke', 'fs', 'crowdhuman')
    torch.manual_seed(0)
    model = build(dsla_cfg)
    model.init_weights()
    deployed = deploy_model(model, dsla_cfg.model)
    baseline = build(base_cfg)
    assert type(deployed.bbox_head) is type(baseline.bbox_head)
    assert {k: v.shape for k, v in deployed.state_dict().items()} == {
        k: v.shape for k, v in baseline.state_dict().items()}
    assert (sum(p.numel() for p in deployed.parameters())
            == sum(p.numel() for p in baseline.parameters())
            < sum(p.numel() for p in model.parameters()))
    baseline.load_state_dict(deployed.state_dict(), strict=True)  # the same O2O weights
    model.eval()
    baseline.eval()
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        outputs = [m._forward(x) for m in (model, deployed, baseline)]
    for a, b, c in zip(*[[t for level in out for t in level] for out in outputs]):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_deploy_config_drops_only_dsla_arguments():
    cfg = load('paper', 'dsla', 'crowdhuman').model
    deployed = deploy_model_config(cfg)
    assert deployed['bbox_head'] == load('paper', 'baseline', 'crowdhuman').model.bbox_head
    assert deploy_model_config(deployed) == deployed  # a baseline config is left as it is


@pytest.mark.slow  # three FLOP traces: ~10 s each on a busy 2-core machine
def test_complexity_inference_equals_baseline_training_adds_the_sla_outputs():
    shape = (128, 128)
    base = model_complexity(load('smoke', 'baseline', 'crowdhuman').model, 'infer', shape)
    infer = model_complexity(load('smoke', 'dsla', 'crowdhuman').model, 'infer', shape)
    train = model_complexity(load('smoke', 'dsla', 'crowdhuman').model, 'train', shape)
    assert (infer['params'], infer['flops']) == (base['params'], base['flops'])
    # SLA outputs: a 3x3 conv to 1 class + a 3x3 conv to 4 distances (+ biases, 4 scales)
    assert train['params'] - infer['params'] == (64 * 9 + 1) * 5 + 4
    assert infer['flops'] < train['flops'] < 1.05 * infer['flops']


def test_backbone_initialisation_is_stated(tmp_path):
    cfg = load('smoke', 'baseline', 'crowdhuman')
    cfg.model.backbone.checkpoint = None  # the paper profile's way: an init_cfg checkpoint
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'r18.pth'))
    with pytest.raises(FileNotFoundError, match='r18.pth.*init_cfg.checkpoint'):
        build(cfg).init_weights()
    log_file = tmp_path / 'init.log'
    MMLogger.get_instance('backbone_init_test', log_file=str(log_file))  # the current logger
    scratch = load('smoke', 'baseline', 'crowdhuman')
    scratch.model.backbone.checkpoint = None  # smoke/tiny start from ImageNet MobileNetV2 by default
    build(scratch).init_weights()
    assert 'training from scratch' in log_file.read_text()
    missing = load('smoke', 'baseline', 'crowdhuman')
    missing.model.backbone.checkpoint = str(tmp_path / 'mnv2.pt')
    with pytest.raises(FileNotFoundError, match=r'mnv2.pt.*model\.backbone\.checkpoint'):
        build(missing).init_weights()
