"""O2OHead and DSLAHead on tensors: outputs, loss terms, eq. 1, empty images, inference."""
import pytest
import torch
from mmengine.structures import InstanceData

import dsla  # noqa: F401
from dsla.models.dense_heads import DSLAHead, O2OHead
from dsla.models.dense_heads.o2o_head import BranchOutputs

from two_instances import make_instances

HEAD = dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
            strides=[8, 16], norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
META = dict(img_shape=(64, 64), pad_shape=(64, 64), scale_factor=(1.0, 1.0))


def features():
    torch.manual_seed(0)
    return (torch.randn(2, 16, 8, 8), torch.randn(2, 16, 4, 4))


def ground_truth():
    return [InstanceData(bboxes=torch.tensor([[4., 4., 40., 60.], [20., 8., 44., 56.]]),
                         labels=torch.tensor([0, 2])),
            InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))]


def build(cls, **kwargs):
    head = cls(**{**HEAD, **kwargs})
    head.init_weights()
    return head


def test_o2o_head_losses_and_top_k_inference():
    head = build(O2OHead, test_cfg=dict(max_per_img=5))
    cls_scores, bbox_preds = head(features())
    assert [c.shape for c in cls_scores] == [(2, 3, 8, 8), (2, 3, 4, 4)]
    assert [b.shape for b in bbox_preds] == [(2, 4, 8, 8), (2, 4, 4, 4)]
    losses = head.loss_by_feat(cls_scores, bbox_preds, ground_truth(), [META, META])
    assert set(losses) == {'loss_o2o_cls', 'loss_o2o_bbox', 'loss_o2o_l1'}
    sum(losses.values()).backward()
    assert head.conv_reg.weight.grad.abs().sum() > 0
    head.eval()
    with torch.no_grad():
        results = head.predict_by_feat(*head(features()), batch_img_metas=[META, META])
    assert len(results) == 2 and len(results[0]) == 5
    assert results[0].scores.tolist() == sorted(results[0].scores.tolist(), reverse=True)
    assert results[0].bboxes.min() >= 0 and results[0].bboxes.max() <= 64
    assert set(results[0].labels.tolist()) <= {0, 1, 2}


def test_dsla_head_runs_sla_subnet_only_in_training():
    head = build(DSLAHead)
    assert len(head(features())) == 4
    head.eval()
    assert len(head(features())) == 2


def test_dsla_losses_follow_eq1_lambdas():
    gts, metas = ground_truth(), [META, META]
    reference = build(DSLAHead).state_dict()  # the same weights for both settings
    terms = {}
    for lambdas in ((1.0, 1.0), (0.5, 2.0)):
        head = build(DSLAHead, lambda_o2o=lambdas[0], lambda_sla=lambdas[1])
        head.load_state_dict(reference)
        head.set_soft_label_epoch(0, 12)
        terms[lambdas] = head.loss_by_feat(*head(features()), gts, metas)
    assert set(terms[1.0, 1.0]) == {'loss_o2o_cls', 'loss_o2o_bbox', 'loss_o2o_l1',
                                    'loss_sla_cls', 'loss_sla_bbox'}
    for name, value in terms[0.5, 2.0].items():
        factor = 0.5 if 'o2o' in name else 2.0
        assert value.item() == pytest.approx(factor * terms[1.0, 1.0][name].item(), rel=1e-5)


def test_dsla_head_needs_the_epoch():
    head = build(DSLAHead)
    with pytest.raises(RuntimeError, match='SoftLabelScheduleHook'):
        head.loss_by_feat(*head(features()), ground_truth(), [META, META])


def test_sla_loss_gradient_ignores_the_targets_dependence_on_scores():
    """Eq. 3's p_i is detached: d loss / d logit_i = (σ(x_i) − t_i) / #anchors exactly."""
    head = build(DSLAHead, num_classes=1, num_soft_anchors=2, center_radius=None,
                 loss_sla_cls=dict(type='SoftLabelBCELoss', neg_gamma=0.0, neg_weight=1.0))
    head.set_soft_label_epoch(0, 36)  # T_0 = 0.6
    pred, gt = make_instances()
    logits = torch.logit(pred.scores)[None].clone().requires_grad_(True)  # (1, 7, 1)
    outputs = BranchOutputs(pred.priors, logits, pred.bboxes[None])
    losses = head.soft_label_losses(outputs, [gt], None)
    losses['loss_sla_cls'].backward()
    # 5 anchors (certain 0 and 4, soft 1, 2, 3); point 1 is a soft anchor with p = .5,
    # t = .625 · .6; point 5 is a negative with p = .4, target 0.
    assert logits.grad[0, 1, 0].item() == pytest.approx((0.5 - 0.625 * 0.6) / 5, abs=1e-6)
    assert logits.grad[0, 5, 0].item() == pytest.approx(0.4 / 5, abs=1e-6)


def test_non_finite_loss_is_named():
    head = build(O2OHead)
    cls_scores, bbox_preds = head(features())
    cls_scores[0] = cls_scores[0] * float('nan')
    with pytest.raises(FloatingPointError, match='loss_o2o_cls'):
        head.loss_by_feat(cls_scores, bbox_preds, ground_truth(), [META, META])


def test_configuration_errors_name_the_value():
    with pytest.raises(ValueError, match='num_soft_anchors'):
        DSLAHead(**HEAD, num_soft_anchors=-1)
    with pytest.raises(ValueError, match='t_max'):
        DSLAHead(**HEAD, t_max=1.5)
    with pytest.raises(ValueError, match='lambda_sla'):
        DSLAHead(**HEAD, lambda_sla=-1.0)
    with pytest.raises(ValueError, match='epoch must be in'):
        DSLAHead(**HEAD).set_soft_label_epoch(12, 12)
