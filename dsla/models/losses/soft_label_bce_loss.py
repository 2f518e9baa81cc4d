"""Eq. 5: binary cross-entropy against the soft label assignment's targets."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


def soft_label_bce(logits: Tensor, labels: Tensor, targets: Tensor, weight: Optional[Tensor],
                   neg_gamma: float, neg_weight: float,
                   target_weight: Optional[Tensor] = None) -> Tensor:
    """Eq. 5 per element: L = BCE(p_c, 1) + Σ_{i∈A} w_soft · BCE(p_i, t_i) + Σ_{i∈B} BCE(p_i, 0).

    w_soft is 1 in eq. 5 as printed; O2F weighs its soft anchors' BCE by 0.4 (the certain
    anchor's by 1, negatives untouched: ``quality_focal_loss_with_prob`` in strongwolf/o2f
    ``sfl.py``). ``target_weight`` carries it, on the assigned class's entry only.

    Args:
        logits: (N, C) classification logits.
        labels: (N,) class of the instance each point is assigned to; C (background) for
            negatives.
        targets: (N,) target of the assigned class: 1 for a certain anchor, t_i for a soft
            anchor; ignored for negatives. Treated as constants (detached): no gradient flows
            through t_i, which eq. 3 computes from the predictions.
        weight: (N,) per-point weight (0 leaves a point out, e.g. an ignore region), or None.
        neg_gamma, neg_weight: negatives' BCE is multiplied by ``neg_weight · p^neg_gamma``.
        target_weight: (N,) factor on the BCE of the assigned class's entry (1 at certain, w_soft
            at soft anchors), or None for 1.

    Returns:
        (N, C) loss elements.
    """
    num_classes = logits.size(1)
    positive = labels < num_classes  # (N,)
    target_matrix = torch.zeros_like(logits)  # (N, C)
    target_matrix[positive, labels[positive]] = targets.detach()[positive].to(logits.dtype)
    is_target_entry = torch.zeros_like(logits, dtype=torch.bool)  # (N, C)
    is_target_entry[positive, labels[positive]] = True
    bce = F.binary_cross_entropy_with_logits(logits, target_matrix, reduction='none')  # (N, C)
    neg_factor = neg_weight * logits.sigmoid().pow(neg_gamma)  # (N, C)
    positive_bce = bce if target_weight is None else bce * target_weight[:, None].to(bce.dtype)
    loss = torch.where(is_target_entry, positive_bce, bce * neg_factor)  # (N, C)
    if weight is not None:
        loss = loss * weight[:, None]
    return loss


@MODELS.register_module()
class SoftLabelBCELoss(nn.Module):
    """Classification loss of the SLA subnet, eq. 5, with O2F's modulation of negatives.

    Positives (certain anchor, target 1; soft anchors, target t_i) get plain BCE, as eq. 5 and
    O2F, times a per-point ``target_weight`` (the head's ``soft_anchor_weight`` at soft
    anchors). Negatives get BCE(p, 0) · neg_weight · p^neg_gamma. Eq. 5 as printed is plain BCE
    (``neg_gamma=0, neg_weight=1``), but its text also names Focal Loss, which the extracted
    formula does not show; with ~20,000 negative points against a handful of positives per
    instance, plain BCE lets the negatives dominate, which is why focal-style methods modulate
    them. The default (γ = 2, weight 0.75) is exactly O2F's ``quality_focal_loss_with_prob``
    for negatives, the closest published relative. Set both to the plain values to run eq. 5
    literally.

    The sum is divided by ``avg_factor`` (the head passes the number of certain + soft anchors,
    as O2F divides its classification loss).

    Args:
        neg_gamma: exponent of p on negatives (default 2.0, O2F).
        neg_weight: factor on negatives (default 0.75, O2F).
        loss_weight: overall weight.
    """

    def __init__(self, neg_gamma: float = 2.0, neg_weight: float = 0.75,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if neg_gamma < 0 or neg_weight < 0:
            raise ValueError(f'neg_gamma and neg_weight must be >= 0, got {neg_gamma!r}, '
                             f'{neg_weight!r}')
        self.neg_gamma = neg_gamma
        self.neg_weight = neg_weight
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor, targets: Tensor,
                weight: Optional[Tensor] = None, avg_factor: float = 1.0,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Sum of :func:`soft_label_bce` over points and classes, divided by ``avg_factor``."""
        loss = soft_label_bce(logits, labels, targets, weight, self.neg_gamma, self.neg_weight,
                              target_weight)
        return self.loss_weight * loss.sum() / avg_factor
