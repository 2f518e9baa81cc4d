"""O2OHead and DSLAHead on tensors: outputs, loss terms, eq. 1, empty images, inference."""
import pytest
import torch
from mmengine.structures import InstanceData
from torch.overrides import TorchFunctionMode
from two_instances import make_instances

import dsla  # noqa: F401
from dsla.models.dense_heads import DSLAHead, O2OHead
from dsla.models.dense_heads.o2o_head import BranchOutputs

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
    for scale in head.scales:  # boxes reaching past the image, so the clipping is exercised
        scale.scale.data.fill_(8.0)
    with torch.no_grad():
        results = head.predict_by_feat(*head(features()), batch_img_metas=[META, META])
    assert len(results) == 2 and len(results[0]) == 5
    # against a brute force over every (point, class) of the raw outputs: point (j + .5, i + .5)
    # · stride, box = point ∓ relu(scale · raw) · stride, clipped to the 64 × 64 image
    with torch.no_grad():
        cls_scores, bbox_preds = head(features())
    for b, result in enumerate(results):
        candidates = []
        for logits, dists, stride in zip(cls_scores, bbox_preds, (8, 16)):
            _, num_cls, height, width = logits.shape
            for i in range(height):
                for j in range(width):
                    x, y = (j + 0.5) * stride, (i + 0.5) * stride
                    left, top, right, bottom = dists[b, :, i, j].tolist()
                    box = [min(max(v, 0.0), 64.0) for v in (x - left, y - top, x + right, y + bottom)]
                    candidates += [(torch.sigmoid(logits[b, c, i, j]).item(), c, box) for c in range(num_cls)]
        top = sorted(candidates, key=lambda item: -item[0])[:5]
        assert result.scores.tolist() == pytest.approx([score for score, _, _ in top], abs=1e-6)
        assert result.labels.tolist() == [label for _, label, _ in top]
        assert result.bboxes.flatten().tolist() == pytest.approx([v for _, _, box in top for v in box], abs=1e-4)


def test_box_parameterisation_and_init_are_onenets():
    """relu(scale · x) · stride (OneNet's FCOS head) and Xavier-uniform weights with the prior-0.01
    classification bias; the earlier exp form stays an option."""
    head = build(O2OHead)
    raw = torch.tensor([[-1.0, 0.0, 0.5, 2.0]]).view(1, 4, 1, 1)
    head.scales[0].scale.data.fill_(2.0)
    assert head.distances(raw, head.scales[0], 8).flatten().tolist() == [0.0, 0.0, 8.0, 32.0]
    exp_head = build(O2OHead, box_param='exp')
    exp_head.scales[0].scale.data.fill_(2.0)
    assert exp_head.distances(raw, exp_head.scales[0], 8).flatten().tolist() == pytest.approx(
        [8 * 2.718281828 ** -2, 8.0, 8 * 2.718281828, 8 * 2.718281828 ** 4], rel=1e-5)
    # Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); conv_cls 16·9 in, 3·9 out
    bound = (6 / (16 * 9 + 3 * 9)) ** 0.5
    weight = head.conv_cls.weight
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound
    assert weight.std().item() == pytest.approx(bound / 3 ** 0.5, rel=0.2)  # not Normal(0, .01)
    assert head.conv_cls.bias.tolist() == pytest.approx([-4.59512] * 3, abs=1e-5)  # -ln(.99/.01)
    assert head.conv_reg.bias.abs().sum() == 0
    tower = head.reg_convs[0].conv.weight  # 16·9 in, 16·9 out
    assert tower.abs().max() <= (6 / (2 * 16 * 9)) ** 0.5
    assert tower.std().item() == pytest.approx((6 / (2 * 16 * 9)) ** 0.5 / 3 ** 0.5, rel=0.2)
    with pytest.raises(ValueError, match='box_param'):
        build(O2OHead, box_param='log')


class ConvLog(TorchFunctionMode):
    """Records the output channels of every 2-D convolution run inside it."""

    def __init__(self):
        super().__init__()
        self.out_channels = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.nn.functional.conv2d, torch.conv2d):
            self.out_channels.append(args[1].shape[0])
        return func(*args, **(kwargs or {}))


def test_dsla_head_runs_sla_subnet_only_in_training():
    head, baseline = build(DSLAHead), build(O2OHead)
    with ConvLog() as train_log:
        train_out = head(features())
    # training: per level the towers (one 16-channel conv each), then the O2O and SLA output
    # convs together: 3 + 3 classes and 4 + 4 distances
    assert train_log.out_channels == [16, 16, 6, 8] * 2
    sum(t.sum() for level in train_out[2:] for t in level).backward()
    assert head.sla_conv_cls.weight.grad.abs().sum() > 0  # the SLA outputs come from its convs
    assert head.sla_conv_reg.weight.grad.abs().sum() > 0
    head.eval()
    baseline.eval()
    with torch.no_grad(), ConvLog() as eval_log:
        eval_out = head(features())
    with torch.no_grad(), ConvLog() as baseline_log:
        baseline(features())
    # eval: exactly the baseline's convolutions, nothing of the SLA subnet
    assert eval_log.out_channels == baseline_log.out_channels == [16, 3, 16, 4] * 2
    # and eval returns the O2O subnet's training-mode outputs (same weights)
    assert len(eval_out) == 2
    for train_level, eval_level in zip(train_out[:2], eval_out):
        assert all(torch.allclose(a.detach(), b, atol=1e-6) for a, b in zip(train_level, eval_level))


# One instance G = [20, 20, 60, 60] on a 100 × 100 image; image 2 has none. Two points each.
#   image 1: P_a at (40, 45), p .6, box [20, 20, 60, 70]: OneNet cost -1.553930 (see
#            test_assigners) — the assigned point; P_b at (85, 85), p .2, box [80, 80, 90, 90].
#   image 2: p .5 and .1, any boxes.
# Focal (α .25, γ 2): positive .25·.4²·(-ln .6) = .020433; negatives .75·p²·(-ln(1-p)):
#   .2 -> .006694, .5 -> .129965, .1 -> .000790; sum .157883, × weight 2 / 1 instance = .315765.
# GIoU: 1 - IoU([20, 20, 60, 70], G) = 1 - .8 = .2, × 2 = .4.
# L1 on boxes / (100, 100, 100, 100): |70 - 60| / 100 = .1, × 5 = .5.
# Each divided by the number of instances in the batch (1; OneNet's num_boxes), not of images.
def o2o_case():
    priors = torch.tensor([[40., 45., 8., 8.], [85., 85., 8., 8.]])
    probs = torch.tensor([[[0.6], [0.2]], [[0.5], [0.1]]])  # (B, N, 1)
    boxes = torch.tensor([[[20., 20., 60., 70.], [80., 80., 90., 90.]],
                          [[0., 0., 10., 10.], [50., 50., 60., 60.]]])
    gts = [InstanceData(bboxes=torch.tensor([[20., 20., 60., 60.]]), labels=torch.tensor([0])),
           InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))]
    meta = dict(img_shape=(100, 100), pad_shape=(100, 100), scale_factor=(1.0, 1.0))
    return BranchOutputs(priors, torch.logit(probs), boxes), gts, [meta, meta]


def test_o2o_losses_are_onenets_on_a_hand_worked_case():
    head = build(O2OHead, num_classes=1)
    outputs, gts, metas = o2o_case()
    losses = head.one_to_one_losses(outputs, gts, metas, None)
    assert losses['loss_o2o_cls'].item() == pytest.approx(0.315765, abs=1e-5)
    assert losses['loss_o2o_bbox'].item() == pytest.approx(0.4, abs=1e-5)
    assert losses['loss_o2o_l1'].item() == pytest.approx(0.5, abs=1e-5)
    # two instances (the same one twice in image 1): every sum doubles, so does the normaliser
    gts[0] = InstanceData(bboxes=gts[0].bboxes.repeat(2, 1), labels=torch.tensor([0, 0]))
    doubled = head.one_to_one_losses(outputs, gts, metas, None)
    # the second copy takes the other point P_b (its next-cheapest free point): focal P_b
    # becomes positive, .25·.8²·(-ln .2) = .257510 instead of .006694; its GIoU and L1 terms
    # are those of [80, 80, 90, 90] against G: GIoU = 0 - (4900 - 1700)/4900 = -.653061,
    # L1 = (60 + 60 + 30 + 30)/100 = 1.8
    cls = 2 * (0.157883 - 0.006694 + 0.257510) / 2
    assert doubled['loss_o2o_cls'].item() == pytest.approx(cls, abs=1e-5)
    assert doubled['loss_o2o_bbox'].item() == pytest.approx(2 * (0.2 + 1.653061) / 2, abs=1e-5)
    assert doubled['loss_o2o_l1'].item() == pytest.approx(5 * (0.1 + 1.8) / 2, abs=1e-5)
    # three copies on two points: the third has no free point left, so no positive; the sums
    # stay, the normaliser is still the number of instances (3), not of positives (2)
    gts[0] = InstanceData(bboxes=gts[0].bboxes[:1].repeat(3, 1), labels=torch.tensor([0, 0, 0]))
    tripled = head.one_to_one_losses(outputs, gts, metas, None)
    assert tripled['loss_o2o_cls'].item() == pytest.approx(2 * cls / 3, abs=1e-5)
    assert tripled['loss_o2o_bbox'].item() == pytest.approx(2 * (0.2 + 1.653061) / 3, abs=1e-5)
    assert tripled['loss_o2o_l1'].item() == pytest.approx(5 * (0.1 + 1.8) / 3, abs=1e-5)


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


def test_heads_pass_the_grid_the_points_lie_on():
    """The FPN grid the head hands its assigners (for the sparse Ω_j) is that of its points."""
    from dsla.models.task_modules.assigners.one_to_one_assigner import grid_layout
    head = build(O2OHead)
    outputs = head.flatten_branch(*head(features()))
    assert outputs.levels == grid_layout(outputs.priors)
    assert [(lv.start, lv.height, lv.width, lv.stride_w) for lv in outputs.levels] == [
        (0, 8, 8, 8.0), (64, 4, 4, 16.0)]


def test_dsla_head_needs_the_epoch():
    head = build(DSLAHead)
    with pytest.raises(RuntimeError, match='SoftLabelScheduleHook'):
        head.loss_by_feat(*head(features()), ground_truth(), [META, META])


@pytest.mark.parametrize('soft_weight', [1.0, 0.4])
def test_sla_loss_gradient_treats_soft_targets_as_constants(soft_weight):
    """Eq. 3's t_i = T·p_i/max p is a constant target: d loss / d logit_i = w (σ(x_i) − t_i) /
    #anchors exactly, although t_i is computed from the same logits (with a gradient through
    t_i, point 1's would gain −w·x_1·∂t_1/∂x_1 and point 2's, the max, −w·x_1·∂t_1/∂x_2)."""
    head = build(DSLAHead, num_classes=1, num_soft_anchors=2, center_radius=None,
                 soft_anchor_weight=soft_weight,
                 loss_sla_cls=dict(type='SoftLabelBCELoss', neg_gamma=0.0, neg_weight=1.0))
    head.set_soft_label_epoch(0, 36)  # T_0 = 0.6
    pred, gt = make_instances()
    logits = torch.logit(pred.scores)[None].clone().requires_grad_(True)  # (1, 7, 1)
    outputs = BranchOutputs(pred.priors, logits, pred.bboxes[None])
    losses = head.soft_label_losses(outputs, [gt], [META], None)
    losses['loss_sla_cls'].backward()
    # 5 anchors (certain 0 and 4, soft 1, 2, 3); point 1 is A's only kept soft anchor (its
    # claim on point 2 went to B) with p = .5, t = .6 · .5/.5; point 2 is B's with p = .8,
    # t = .6 (B's max); point 0 is certain (p .9); point 5 is a negative with p = .4, target 0
    # (weight 1 whatever the soft weight).
    grad = logits.grad[0, :, 0].tolist()
    assert grad[1] == pytest.approx(soft_weight * (0.5 - 0.6) / 5, abs=1e-6)
    assert grad[2] == pytest.approx(soft_weight * (0.8 - 0.6) / 5, abs=1e-6)
    assert grad[0] == pytest.approx((0.9 - 1.0) / 5, abs=1e-6)
    assert grad[5] == pytest.approx(0.4 / 5, abs=1e-6)


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
    with pytest.raises(ValueError, match='soft_anchor_weight'):
        DSLAHead(**HEAD, soft_anchor_weight=-0.4)
    with pytest.raises(ValueError, match='epoch must be in'):
        DSLAHead(**HEAD).set_soft_label_epoch(12, 12)
