"""Eq. 5 against hand-computed values."""
import math

import pytest
import torch

import dsla  # noqa: F401
from dsla.models.losses import SoftLabelBCELoss


def logit(p):
    return math.log(p / (1 - p))


# three points, one class: certain anchor p = .8 (target 1), soft anchor p = .5 (target .6),
# negative p = .2 (label = background = 1).
LOGITS = torch.tensor([[logit(0.8)], [logit(0.5)], [logit(0.2)]])
LABELS = torch.tensor([0, 0, 1])
TARGETS = torch.tensor([1.0, 0.6, 0.0])
CERTAIN = -math.log(0.8)                                   # BCE(.8, 1)  = .22314
SOFT = -(0.6 * math.log(0.5) + 0.4 * math.log(0.5))        # BCE(.5, .6) = .69315
NEGATIVE = -math.log(1 - 0.2)                              # BCE(.2, 0)  = .22314


def test_eq5_plain_bce():
    loss = SoftLabelBCELoss(neg_gamma=0.0, neg_weight=1.0)(LOGITS, LABELS, TARGETS, avg_factor=2)
    assert loss.item() == pytest.approx((CERTAIN + SOFT + NEGATIVE) / 2, rel=1e-5)


def test_eq5_with_o2f_negative_modulation_and_weights():
    loss = SoftLabelBCELoss()(LOGITS, LABELS, TARGETS, avg_factor=2)  # γ = 2, weight .75
    assert loss.item() == pytest.approx((CERTAIN + SOFT + 0.75 * 0.2 ** 2 * NEGATIVE) / 2,
                                        rel=1e-5)
    ignore_negative = torch.tensor([1.0, 1.0, 0.0])
    loss = SoftLabelBCELoss()(LOGITS, LABELS, TARGETS, ignore_negative, avg_factor=1)
    assert loss.item() == pytest.approx(CERTAIN + SOFT, rel=1e-5)


def test_multi_class_positive_is_negative_for_other_classes():
    logits = torch.tensor([[logit(0.3), logit(0.9)]])
    loss = SoftLabelBCELoss(neg_gamma=0.0, neg_weight=1.0)(
        logits, torch.tensor([1]), torch.tensor([1.0]), avg_factor=1)
    assert loss.item() == pytest.approx(-math.log(0.7) - math.log(0.9), rel=1e-5)


def test_gradient_treats_targets_as_constants():
    # targets computed from the logits themselves, as eq. 3 computes t_i from p_i: the certain
    # anchor's 1 = p_0 / p_0, the soft anchor's t = .6 · p_1 / p_1 = .6 (values unchanged, but
    # with a gradient: through t_0 point 0's would gain −x_0 · ∂t_0/∂x_0 = −1.386 · .2)
    logits = LOGITS.clone().requires_grad_(True)
    p = logits.sigmoid()[:, 0]
    targets = torch.stack([p[0] / p[0].detach(), 0.6 * p[1] / p[1].detach(), torch.zeros(())])
    assert targets.requires_grad and targets.tolist() == pytest.approx([1.0, 0.6, 0.0])
    SoftLabelBCELoss(neg_gamma=0.0, neg_weight=1.0)(logits, LABELS, targets).backward()
    # d BCE(σ(x), t) / dx = σ(x) − t with t constant; through t it would add −x · dt/dx
    assert logits.grad[:2, 0].tolist() == pytest.approx([0.8 - 1.0, 0.5 - 0.6], abs=1e-6)
