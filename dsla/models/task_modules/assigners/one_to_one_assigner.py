"""One-to-one assignment: each instance's single positive point is the argmax of eq. 2."""
from typing import Optional

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

# Roles a point can hold for an instance; a point claimed by several instances keeps the
# strongest role, then the highest S_ij (see ``OneToOneAssigner._resolve``).
NEGATIVE, SOFT, CERTAIN = 0, 1, 2


def prior_region(priors: Tensor, gt_bboxes: Tensor, center_radius: Optional[float]) -> Tensor:
    """Ω_j of eq. 2: which points lie in instance j's spatial prior.

    Ω_j is FCOS's centre-sampling region: the square of half side ``center_radius × stride``
    around the box centre, clipped to the box, on every FPN level (no scale ranges: as in POTO,
    the matching quality, not a size rule, picks the level). ``center_radius=None`` makes Ω_j the
    whole box (DeFCN's CrowdHuman prior). The paper only says "centre region"; radius 1.5 is the
    value of DeFCN/POTO and O2F. A box smaller than the stride of the finest level can contain
    no point at all; its instance then has no positive (as in FCOS and POTO).

    Args:
        priors: (N, 4) points with strides, ``(x, y, stride_w, stride_h)``.
        gt_bboxes: (M, 4) boxes ``(x1, y1, x2, y2)``.
        center_radius: half side of the centre region in strides, or None for the whole box.

    Returns:
        (N, M) bool: ``1[i ∈ Ω_j]``.
    """
    xs, ys = priors[:, 0:1], priors[:, 1:2]  # (N, 1)
    x1, y1, x2, y2 = gt_bboxes.unbind(-1)  # (M,) each
    if center_radius is not None:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2  # (M,)
        half_w = center_radius * priors[:, 2:3]  # (N, 1)
        half_h = center_radius * priors[:, 3:4]  # (N, 1)
        x1, x2 = torch.maximum(cx - half_w, x1), torch.minimum(cx + half_w, x2)  # (N, M)
        y1, y2 = torch.maximum(cy - half_h, y1), torch.minimum(cy + half_h, y2)  # (N, M)
    return (xs > x1) & (xs < x2) & (ys > y1) & (ys < y2)  # (N, M)


def matching_quality(scores: Tensor, pred_bboxes: Tensor, gt_bboxes: Tensor, gt_labels: Tensor,
                     in_prior: Tensor, poto_alpha: Optional[float] = None) -> Tensor:
    """Eq. 2: S_ij = 1[i ∈ Ω_j] · p_{i,c_j} · IoU(b_i, b_j).

    The paper writes the plain product, and that is the default. ``poto_alpha`` switches to
    POTO's geometric form p^(1−α) · IoU^α (DeFCN and O2F use α = 0.8) for comparison.

    Args:
        scores: (N, C) class probabilities p_{i,c}.
        pred_bboxes: (N, 4) predicted boxes b_i.
        gt_bboxes: (M, 4) instance boxes b_j.
        gt_labels: (M,) instance classes c_j.
        in_prior: (N, M) bool, ``1[i ∈ Ω_j]`` from :func:`prior_region`.
        poto_alpha: None for eq. 2 as printed, else POTO's exponent α in [0, 1].

    Returns:
        (N, M) quality S_ij, zero outside Ω_j.
    """
    p = scores[:, gt_labels]  # (N, M)
    iou = bbox_overlaps(pred_bboxes, gt_bboxes)  # (N, M)
    if poto_alpha is not None:
        return in_prior * p.pow(1 - poto_alpha) * iou.pow(poto_alpha)  # (N, M), POTO's form
    return in_prior * p * iou  # (N, M), eq. 2


@TASK_UTILS.register_module()
class OneToOneAssigner(BaseAssigner):
    """One positive point per instance: the certain anchor, argmax_i S_ij of eq. 2 (no Hungarian).

    This is the baseline's (OneNet/POTO-style) assignment and the O2O subnet's in DSLA.

    Contract of :meth:`assign` (N points, M instances, C classes):
        pred_instances.priors  (N, 4) points ``(x, y, stride_w, stride_h)``
        pred_instances.bboxes  (N, 4) predicted boxes, ``(x1, y1, x2, y2)``
        pred_instances.scores  (N, C) class probabilities (no gradient needed)
        gt_instances.bboxes    (M, 4), gt_instances.labels (M,)
        gt_instances_ignore.bboxes (I, 4), optional: negative points located inside an ignore
            region get ``gt_inds = -1`` (left out of the classification loss), the mmdet
            convention for CrowdHuman's ``mask``/``ignore`` boxes.
    Returns an mmdet ``AssignResult``: ``gt_inds`` (N,) 1-based instance index, 0 negative,
    −1 ignored; ``labels`` (N,) class or −1; ``max_overlaps`` (N,) S_ij of the assigned pair.

    Conflicts: top-1 per instance without Hungarian can give two instances the same point. The
    point then goes to the instance with the higher S_ij and the other instance has no positive
    in this iteration (the same outcome as OneNet's per-instance argmin). An instance whose Ω_j
    is empty has no positive. Images without instances give all points negative.

    Args:
        center_radius: Ω_j's half side in strides (see :func:`prior_region`); None = whole box.
        poto_alpha: None for eq. 2 as printed, else POTO's exponent (see :func:`matching_quality`).
    """

    num_soft_anchors = 0

    def __init__(self, center_radius: Optional[float] = 1.5,
                 poto_alpha: Optional[float] = None) -> None:
        if center_radius is not None and not center_radius > 0:
            raise ValueError(f'center_radius must be > 0 or None, got {center_radius!r}')
        if poto_alpha is not None and not 0.0 <= poto_alpha <= 1.0:
            raise ValueError(f'poto_alpha must be in [0, 1] or None, got {poto_alpha!r}')
        self.center_radius = center_radius
        self.poto_alpha = poto_alpha

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None, **kwargs) -> AssignResult:
        """Assign the certain anchor of every instance; everything else is negative."""
        quality, role, point_gt = self._claims(pred_instances, gt_instances)  # (N,M),(N,M),(N,)
        return self._result(quality, role, point_gt, pred_instances, gt_instances,
                            gt_instances_ignore)

    def _claims(self, pred_instances: InstanceData, gt_instances: InstanceData):
        """S_ij, each point's role for each instance, and the instance each point goes to.

        Returns:
            quality (N, M) S_ij; role (N, M) in {NEGATIVE, SOFT, CERTAIN}: rank 0 by S_ij is the
            certain anchor (must lie in Ω_j), ranks 1..K are soft anchors (need S_ij > 0, i.e. in
            Ω_j with a positive score and overlap); point_gt (N,) the instance a point is
            assigned to, meaningful where its role is not NEGATIVE.
        """
        priors, gt_bboxes = pred_instances.priors, gt_instances.bboxes
        if len(gt_instances) == 0:  # an image without instances: every point is negative
            role = priors.new_zeros((len(priors), 0), dtype=torch.long)  # (N, 0)
            return role.float(), role, role.new_zeros(len(priors))
        in_prior = prior_region(priors, gt_bboxes, self.center_radius)  # (N, M)
        quality = matching_quality(pred_instances.scores, pred_instances.bboxes, gt_bboxes,
                                   gt_instances.labels, in_prior, self.poto_alpha)  # (N, M)
        num_ranks = min(self.num_soft_anchors + 1, quality.size(0))
        rank_key = quality.masked_fill(~in_prior, -1.0)  # (N, M): outside Ω_j ranks last
        top_key, top_idx = rank_key.topk(num_ranks, dim=0)  # (R, M) each
        rank_role = torch.full_like(top_idx, SOFT)  # (R, M)
        rank_role[0] = CERTAIN
        valid = torch.cat([top_key[:1] >= 0, top_key[1:] > 0])  # (R, M)
        role = torch.zeros_like(rank_key, dtype=torch.long)  # (N, M)
        role.scatter_(0, top_idx, rank_role * valid)  # (N, M)
        point_gt = self._resolve(quality, role)  # (N,)
        return quality, role, point_gt

    @staticmethod
    def _resolve(quality: Tensor, role: Tensor) -> Tensor:
        """A point claimed by several instances goes to the one where its role is strongest
        (certain before soft), ties by the higher S_ij (O2F's rule for shared soft anchors).

        Args: quality (N, M) in [0, 1]; role (N, M). Returns: (N,) instance index per point.
        """
        claim_key = (2.0 * role + quality).masked_fill(role == NEGATIVE, -1.0)  # (N, M)
        return claim_key.argmax(dim=1)  # (N,)

    def _result(self, quality: Tensor, role: Tensor, point_gt: Tensor,
                pred_instances: InstanceData, gt_instances: InstanceData,
                gt_instances_ignore: Optional[InstanceData]) -> AssignResult:
        """Pack per-point assignments into an mmdet AssignResult (shapes in the class doc)."""
        if role.size(1) == 0:  # no instance: nothing to gather from
            point_role = point_gt.new_full(point_gt.shape, NEGATIVE)  # (N,)
            point_label = point_gt.new_full(point_gt.shape, -1)  # (N,)
            point_quality = quality.new_zeros(point_gt.shape)  # (N,)
        else:
            point_role = role.gather(1, point_gt[:, None]).squeeze(1)  # (N,)
            point_label = gt_instances.labels[point_gt]  # (N,)
            point_quality = quality.gather(1, point_gt[:, None]).squeeze(1)  # (N,)
        positive = point_role != NEGATIVE  # (N,)
        gt_inds = torch.where(positive, point_gt + 1, 0)  # (N,)
        labels = torch.where(positive, point_label, -1)  # (N,)
        max_overlaps = torch.where(positive, point_quality, 0.0)  # (N,)
        if gt_instances_ignore is not None and len(gt_instances_ignore) > 0:
            ignored = prior_region(pred_instances.priors, gt_instances_ignore.bboxes,
                                   None).any(dim=1) & ~positive  # (N,)
            gt_inds[ignored] = -1
        result = AssignResult(len(gt_instances), gt_inds, max_overlaps, labels)
        result.set_extra_property('point_role', point_role)
        return result
