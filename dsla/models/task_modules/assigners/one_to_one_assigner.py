"""One-to-one assignment: each instance's single positive point is the argmax of eq. 2."""
from typing import NamedTuple, Optional

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
    if center_radius is None:
        return (xs > x1) & (xs < x2) & (ys > y1) & (ys < y2)  # (N, M)
    # the centre square clipped to the box is centred on the box: half side min(r·s, w/2)
    half_w = torch.minimum(center_radius * priors[:, 2:3], (x2 - x1) / 2)  # (N, M)
    half_h = torch.minimum(center_radius * priors[:, 3:4], (y2 - y1) / 2)  # (N, M)
    return (((xs - (x1 + x2) / 2).abs_() < half_w)
            & ((ys - (y1 + y2) / 2).abs_() < half_h))  # (N, M)


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
        (N, M) quality S_ij, zero outside Ω_j. Only the pairs inside Ω_j (a few dozen
        points per instance) are computed, so the cost grows with the candidates, not N × M.
    """
    point, instance = in_prior.nonzero(as_tuple=True)  # (P,) pairs with i ∈ Ω_j
    p = scores[point, gt_labels[instance]]  # (P,)
    iou = bbox_overlaps(pred_bboxes[point], gt_bboxes[instance], is_aligned=True)  # (P,)
    if poto_alpha is not None:
        pair_quality = p.pow(1 - poto_alpha) * iou.pow(poto_alpha)  # (P,), POTO's form
    else:
        pair_quality = p * iou  # (P,), eq. 2 inside Ω_j
    quality = scores.new_zeros(in_prior.shape)  # (N, M), eq. 2: zero outside Ω_j
    quality[point, instance] = pair_quality
    return quality


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
        claims = self._claims(pred_instances, gt_instances)
        return self._result(claims, pred_instances, gt_instances, gt_instances_ignore)

    def _claims(self, pred_instances: InstanceData, gt_instances: InstanceData) -> 'Claims':
        """Rank the points of every instance by S_ij and settle which point goes where.

        Rank 0 is the certain anchor (it must lie in Ω_j); ranks 1..K are soft anchors (they
        need S_ij > 0: inside Ω_j with a non-zero score and overlap, as O2F's candidates need
        IoU > 0). Conflicts are settled by :meth:`_resolve`.
        """
        priors, gt_bboxes = pred_instances.priors, gt_instances.bboxes
        num_points, num_gts = len(priors), len(gt_bboxes)
        if num_gts == 0:  # an image without instances: every point is negative
            none = priors.new_zeros((0, 0), dtype=torch.long)
            return Claims(none, none.bool(), none.new_zeros(num_points),
                          none.new_full((num_points,), NEGATIVE), priors.new_zeros(num_points))
        in_prior = prior_region(priors, gt_bboxes, self.center_radius)  # (N, M)
        quality = matching_quality(pred_instances.scores, pred_instances.bboxes, gt_bboxes,
                                   gt_instances.labels, in_prior, self.poto_alpha)  # (N, M)
        rank_key = quality.masked_fill_(~in_prior, -1.0)  # (N, M): outside Ω_j ranks last
        top_key, ranked = rank_key.topk(min(self.num_soft_anchors + 1, num_points), dim=0)  # (R,M)
        valid = torch.cat([top_key[:1] >= 0, top_key[1:] > 0])  # (R, M)
        rank_role = torch.full_like(ranked, SOFT)  # (R, M)
        rank_role[0] = CERTAIN
        instance = torch.arange(num_gts, device=priors.device).expand_as(ranked)  # (R, M)
        point_gt, point_role, point_quality = self._resolve(
            ranked[valid], instance[valid], rank_role[valid], top_key[valid], num_points)
        return Claims(ranked, valid, point_gt, point_role, point_quality)

    @staticmethod
    def _resolve(points: Tensor, instances: Tensor, roles: Tensor, quality: Tensor,
                 num_points: int):
        """A point claimed by several instances goes to the one where its role is strongest
        (certain before soft), then to the higher S_ij (O2F's rule for shared soft anchors),
        then to the lower instance index.

        Args: E claims as (E,) tensors: point, instance, role, S_ij in [0, 1].
        Returns: per point (N,): instance, role (NEGATIVE if unclaimed), S_ij of that claim.
        """
        key = 2.0 * roles + quality  # (E,): roles are 2 apart, S_ij in [0, 1]
        best = key.new_full((num_points,), -1.0).scatter_reduce(0, points, key, 'amax')  # (N,)
        won = key == best[points]  # (E,)
        point_gt = torch.zeros_like(best, dtype=torch.long).scatter_reduce(
            0, points[won], instances[won], 'amin', include_self=False)  # (N,)
        claimed = best >= 0  # (N,)
        point_role = torch.where(claimed, torch.div(best, 2, rounding_mode='floor').long(),
                                 NEGATIVE)  # (N,)
        point_quality = torch.where(claimed, best - 2.0 * point_role, 0.0)  # (N,)
        return point_gt, point_role, point_quality

    def _result(self, claims: 'Claims', pred_instances: InstanceData,
                gt_instances: InstanceData,
                gt_instances_ignore: Optional[InstanceData]) -> AssignResult:
        """Pack per-point assignments into an mmdet AssignResult (shapes in the class doc)."""
        positive = claims.point_role != NEGATIVE  # (N,)
        gt_inds = torch.where(positive, claims.point_gt + 1, 0)  # (N,)
        labels = torch.full_like(gt_inds, -1)  # (N,)
        labels[positive] = gt_instances.labels[claims.point_gt[positive]]
        if gt_instances_ignore is not None and len(gt_instances_ignore) > 0:
            ignored = prior_region(pred_instances.priors, gt_instances_ignore.bboxes,
                                   None).any(dim=1) & ~positive  # (N,)
            gt_inds[ignored] = -1
        result = AssignResult(len(gt_instances), gt_inds, claims.point_quality, labels)
        result.set_extra_property('point_role', claims.point_role)
        return result


class Claims(NamedTuple):
    """What the ranking by S_ij decided for one image (N points, M instances, R = K + 1 ranks)."""
    ranked: Tensor  # (R, M) point index of rank r for instance j (0: certain, 1..K: soft)
    valid: Tensor  # (R, M) bool, the ranked point qualifies (see OneToOneAssigner._claims)
    point_gt: Tensor  # (N,) instance a point is assigned to (meaningful if not NEGATIVE)
    point_role: Tensor  # (N,) CERTAIN, SOFT or NEGATIVE
    point_quality: Tensor  # (N,) S_ij of the point's claim, 0 if NEGATIVE
