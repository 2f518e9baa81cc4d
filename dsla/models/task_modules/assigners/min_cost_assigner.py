"""OneNet's minimum-cost matching: the baseline's and DSLA's O2O subnet's one-to-one assignment."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from .one_to_one_assigner import (
    CERTAIN,
    Claims,
    assign_result,
    empty_claims,
    ignored_points,
    match_certain,
    rank_pairs,
    settle_claims,
)

SETTLEMENTS = ('hungarian', 'greedy')

# Pairs evaluated at once: bounds the memory of the (N, M) cost to N × chunk entries.
CHUNK_ENTRIES = 1 << 21


def focal_cost(scores: Tensor, alpha: float, gamma: float, eps: float = 1e-8) -> Tensor:
    """OneNet's classification cost, per point and class: the focal loss of calling the point
    positive minus that of calling it negative,

        cost_cls(p) = α (1 − p)^γ · (−log(p + ε)) − (1 − α) p^γ · (−log(1 − p + ε)),  ε = 1e-8

    (``MinCostMatcher.forward`` in PeizeSun/OneNet ``projects/OneNet/onenet/loss.py``).

    Args:
        scores: (N, C) class probabilities p.

    Returns:
        (N, C) cost; lower for a higher p.
    """
    positive = alpha * (1 - scores).pow(gamma) * -(scores + eps).log()
    negative = (1 - alpha) * scores.pow(gamma) * -(1 - scores + eps).log()
    return positive - negative  # (N, C)


def matching_cost(class_cost: Tensor, pred_bboxes: Tensor, gt_bboxes: Tensor, gt_labels: Tensor,
                  image_wh: Tensor, weights: Sequence[float]) -> Tensor:
    """OneNet's matching cost of every point for some instances:

        C_ij = w_cls · cost_cls(p_{i,c_j}) + w_L1 · ‖b̂_i − b̂_j‖₁ + w_GIoU · (−GIoU(b_i, b_j)),

    with b̂ a box (x1, y1, x2, y2) divided by the image's (w, h, w, h), OneNet's weights
    (2, 5, 2) by default.

    Args:
        class_cost: (N, C) :func:`focal_cost`.
        pred_bboxes: (N, 4) predicted boxes b_i in pixels.
        gt_bboxes: (m, 4) instance boxes b_j; gt_labels: (m,) their classes c_j.
        image_wh: (4,) ``(w, h, w, h)`` of the image.
        weights: (w_cls, w_L1, w_GIoU).

    Returns:
        (N, m) C_ij.
    """
    w_cls, w_l1, w_giou = weights
    cost = w_cls * class_cost[:, gt_labels]  # (N, m)
    cost += w_l1 * torch.cdist(pred_bboxes / image_wh, gt_bboxes / image_wh, p=1)  # (N, m)
    cost -= w_giou * bbox_overlaps(pred_bboxes, gt_bboxes, mode='giou')  # (N, m)
    return cost


def hungarian(cost: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The minimum-cost one-to-one matching of instances to points (OneNet's settlement):

        min Σ_j C_{π(j), j}  over injective π: instances → points,

    by SciPy's ``linear_sum_assignment`` (the call of ``MinCostMatcher.forward`` in PeizeSun/OneNet
    ``projects/OneNet/onenet/loss_predefine.py``, the module its ``detector.py`` imports; the
    ``torch.min`` line is commented out there). Every instance gets one point, no point two
    instances (when there are at least as many points as instances).

    Args:
        cost: (N, m) C_ij of N candidate points and m instances.

    Returns:
        point (k,), instance (k,): the matched pairs, k = min(N, m), sorted by instance.
    """
    from scipy.optimize import linear_sum_assignment

    # non-finite predictions (a diverging step) make non-finite costs, which SciPy refuses; the
    # matching still settles and the loss check then names the term that is not finite
    cost = np.nan_to_num(cost, nan=1e12, posinf=1e12, neginf=-1e12)
    instance, point = linear_sum_assignment(cost.T)  # rows: instances (m <= N in practice)
    return point, instance


@TASK_UTILS.register_module()
class MinCostAssigner(BaseAssigner):
    """OneNet's one-to-one assignment: the matching of instances to points of minimum total cost
    (:func:`matching_cost`, 2·focal cost + 5·L1 + 2·(−GIoU)) over ALL points, no spatial prior,
    settled by Hungarian matching (:func:`hungarian`): one point per instance, never shared.

    Source: ``MinCostMatcher`` in PeizeSun/OneNet ``projects/OneNet/onenet/loss_predefine.py``
    (the module ``detector.py`` imports): the cost matrix over all points, then SciPy's
    ``linear_sum_assignment`` per image. The paper: "We chose to use OneNet as baseline and also
    as O2O branch" (§4.3); this is the default assigner of the baseline's head and DSLA's O2O
    subnet. (The paper's §3.3 also says the spatial prior "is used in the o2o and SLA
    approaches"; OneNet has none, and OneNet is what the paper names. The eq. 2 matching inside
    Ω_j stays available as ``OneToOneAssigner``.)

    ``settle='greedy'`` is our earlier rule, kept as a named option: each instance takes its
    cheapest point, a point wanted by two goes to the lower cost and the other instance takes its
    next-cheapest free point (:func:`match_certain`, O2F's promotion; ties by the lower instance
    index). Its total cost can exceed the optimum (tests/models/test_assigners.py has a case).

    Exact Hungarian without the dense (N, M) problem: some optimal matching gives every instance
    one of its own min(M, N) cheapest points — if instance j held a point outside them, at most
    M − 1 of those points are taken by the others, so one is free, and moving j there does not
    raise the total. So the problem restricted to the union U of every instance's min(M, N)
    cheapest points has the dense optimum (equal total cost; tests check it against the dense
    problem and a brute force), so ``restrict=True`` lets SciPy solve an (M × |U|) matrix instead
    of (M × N); at 22,400 points and 100 or 300 instances it saved nothing measurable (building the
    dense cost dominates), so the default solves the dense problem, as OneNet.

    Cost and memory: the cost has no prior, so every point is a candidate of every instance.
    Hungarian (the default) builds the dense (N, M) cost per image as OneNet does (time and
    memory O(N · M)) and solves it (``restrict=True``: on the union U of each instance's M
    cheapest points); benchmarks/bench_assignment.py measures both at the paper profile's 22,400
    points with 100 and 300 instances. Greedy costs the focal and L1 terms over all pairs, the GIoU only
    where a lower bound leaves a pair in the race (see :meth:`_cheapest`; exact), in chunks of
    ``CHUNK_ENTRIES / N`` instances (memory O(N × chunk)).

    Contract of :meth:`assign`: as ``OneToOneAssigner`` (N points, M instances), plus the
    keyword ``img_shape`` ``(h, w)`` of the image (without padding; OneNet's ``image_size``),
    which normalises the L1 term. ``max_overlaps`` holds −C_ij of the assigned pairs.

    Args:
        class_weight, l1_weight, giou_weight: cost weights (OneNet: 2, 5, 2).
        alpha, gamma: focal cost parameters (OneNet: 0.25, 2).
        settle: ``'hungarian'`` (OneNet, the default) or ``'greedy'`` (the option above).
        num_candidates: with ``settle='greedy'``, the cheapest points kept per instance for the
            conflict resolution (more are costed if an instance runs out).
        prune: skip the GIoU of pairs that cannot be among an instance's cheapest (default;
            exact), or cost every pair in full (the reference, ``prune=False``).
        restrict: with ``settle='hungarian'``, solve on the union of each instance's min(M, N)
            cheapest points (exact, see above) instead of all N points (the default, as OneNet);
            measured no faster at the paper profile's size (the dense cost dominates).
    """

    def __init__(self, class_weight: float = 2.0, l1_weight: float = 5.0,
                 giou_weight: float = 2.0, alpha: float = 0.25, gamma: float = 2.0,
                 settle: str = 'hungarian', num_candidates: int = 8, prune: bool = True,
                 restrict: bool = False) -> None:
        if settle not in SETTLEMENTS:
            raise ValueError(f'MinCostAssigner: settle must be one of {SETTLEMENTS}, got {settle!r}')
        weights = dict(class_weight=class_weight, l1_weight=l1_weight, giou_weight=giou_weight)
        for name, value in weights.items():
            if not value >= 0:
                raise ValueError(f'{name} must be >= 0, got {value!r}')
        if not any(weights.values()):
            raise ValueError('MinCostAssigner: all cost weights are 0')
        if not 0.0 <= alpha <= 1.0 or not gamma >= 0:
            raise ValueError(f'focal cost needs alpha in [0, 1] and gamma >= 0, got '
                             f'alpha={alpha!r}, gamma={gamma!r}')
        if not int(num_candidates) >= 1:
            raise ValueError(f'num_candidates must be >= 1, got {num_candidates!r}')
        self.weights = (class_weight, l1_weight, giou_weight)
        self.alpha, self.gamma = alpha, gamma
        self.settle = settle
        self.num_candidates = int(num_candidates)
        self.prune = prune
        self.restrict = restrict

    def cost(self, pred_instances: InstanceData, gt_instances: InstanceData,
             img_shape: Sequence[int]) -> Tensor:
        """The dense (N, M) cost matrix (for tests and inspection; :meth:`assign` chunks it)."""
        class_cost = focal_cost(pred_instances.scores, self.alpha, self.gamma)
        return matching_cost(class_cost, pred_instances.bboxes, gt_instances.bboxes,
                             gt_instances.labels, self._image_wh(img_shape, pred_instances),
                             self.weights)

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None, *,
               img_shape: Optional[Sequence[int]] = None, grid_levels=None,
               **kwargs) -> AssignResult:
        """One positive per instance (its point in the minimum-cost matching); every other point
        negative."""
        return self.assign_images([pred_instances], [gt_instances], [gt_instances_ignore],
                                  img_shapes=[img_shape], grid_levels=grid_levels)[0]

    @torch.no_grad()
    def assign_images(self, pred_list: List[InstanceData], gt_list: List[InstanceData],
                      ignore_list: Optional[List[Optional[InstanceData]]] = None, *,
                      img_shapes: Optional[List[Sequence[int]]] = None, grid_levels=None,
                      **kwargs) -> List[AssignResult]:
        """:meth:`assign` for the images of a batch (the same points) in one settlement: the
        costs are computed image by image, the conflicts of all images settled at once (no pair
        crosses an image)."""
        num_points = len(pred_list[0].priors)
        device = pred_list[0].priors.device
        counts = [len(gt) for gt in gt_list]
        num_gts = sum(counts)
        if num_gts and (img_shapes is None or any(
                shape is None for shape, n in zip(img_shapes, counts) if n)):
            raise ValueError('MinCostAssigner.assign needs img_shape=(h, w) of the image (it '
                             "normalises the L1 cost); the heads pass it from the image's "
                             'metainfo')
        gt_start = torch.tensor([0] + counts, device=device).cumsum(0)  # (B + 1,)
        total = num_points * len(pred_list)
        if num_gts and self.settle == 'hungarian':
            claims = self._hungarian_claims(pred_list, gt_list, img_shapes, gt_start, total)
        elif num_gts == 0:
            claims = empty_claims(total, device)
        else:
            costs = [(focal_cost(pred.scores, self.alpha, self.gamma), pred.bboxes,
                      self._image_wh(shape, pred) if len(gt) else None)
                     for pred, gt, shape in zip(pred_list, gt_list, img_shapes)]

            def cheapest(instances: Tensor, k: int):
                """k cheapest points of the given (batch) instances, global indices."""
                parts = []
                for b, gt in enumerate(gt_list):
                    mine = instances[(instances >= gt_start[b]) & (instances < gt_start[b + 1])]
                    if len(mine):
                        point, index, key = self._cheapest(*costs[b][:2], gt[mine - gt_start[b]],
                                                           costs[b][2], k)
                        parts.append((point + b * num_points, mine[index], key))
                return [torch.cat(column) for column in zip(*parts)]

            k = min(self.num_candidates, num_points)
            point, instance, key = cheapest(torch.arange(num_gts, device=device), k)
            looked = torch.full((num_gts,), k, device=device)  # candidates per instance
            while True:
                ranking = rank_pairs(point, instance, key, num_gts)
                certain = match_certain(ranking, total)
                exhausted = (certain < 0) & (ranking.count == looked) & (looked < num_points)
                if not exhausted.any():
                    break
                # an instance ran out of free points: cost more of its points, it alone
                more = exhausted.nonzero().flatten()
                k = min(4 * int(looked[more].max()), num_points)
                p_more, i_more, key_more = cheapest(more, k)
                keep = ~exhausted[instance]
                point = torch.cat([point[keep], p_more])
                instance = torch.cat([instance[keep], i_more])
                key = torch.cat([key[keep], key_more])
                order = (instance * total + point).argsort()
                point, instance, key = point[order], instance[order], key[order]
                looked[more] = k
            claims = settle_claims(ranking, certain, ranking.key > 0, 0, total)
        results = []
        for b, (pred, gt) in enumerate(zip(pred_list, gt_list)):
            window = slice(b * num_points, (b + 1) * num_points)
            image_claims = Claims(claims.point_gt[window] - gt_start[b],
                                  claims.point_role[window], claims.point_quality[window],
                                  claims.soft_point[:0], claims.soft_instance[:0])
            ignore = ignore_list[b] if ignore_list is not None else None
            results.append(assign_result(image_claims, gt,
                                         ignored_points(pred.priors, ignore, True, grid_levels)))
        return results

    def _hungarian_claims(self, pred_list: List[InstanceData], gt_list: List[InstanceData],
                          img_shapes: List[Sequence[int]], gt_start: Tensor, total: int) -> Claims:
        """Each image's minimum-cost matching (:func:`hungarian`), as batch-wide claims."""
        num_points = len(pred_list[0].priors)
        device = pred_list[0].priors.device
        point_gt = torch.zeros(total, dtype=torch.long, device=device)
        point_role = torch.zeros(total, dtype=torch.long, device=device)
        point_key = torch.zeros(total, dtype=pred_list[0].bboxes.dtype, device=device)
        for b, (pred, gt, shape) in enumerate(zip(pred_list, gt_list, img_shapes)):
            if not len(gt):
                continue
            class_cost = focal_cost(pred.scores, self.alpha, self.gamma)  # (N, C)
            cost = matching_cost(class_cost, pred.bboxes, gt.bboxes, gt.labels, self._image_wh(shape, pred),
                                 self.weights)  # (N, m), dense as OneNet's
            columns = torch.arange(num_points, device=device)  # (N,)
            if self.restrict and len(gt) < num_points:
                # min(M, N) = m cheapest points per instance: some optimum uses only these (class docstring)
                columns = cost.topk(len(gt), dim=0, largest=False).indices.flatten().unique()  # (U,) sorted
                cost = cost[columns]  # (U, m)
            column, instance = hungarian(cost.double().cpu().numpy())
            point = columns[torch.as_tensor(column, device=device)]  # (m,)
            instance = torch.as_tensor(instance, device=device)  # (m,)
            glob = point + b * num_points
            point_gt[glob] = instance + gt_start[b]
            point_role[glob] = CERTAIN
            point_key[glob] = -cost[torch.as_tensor(column, device=device), instance].to(point_key.dtype)
        none = point_gt.new_zeros(0)
        return Claims(point_gt, point_role, point_key, none, none)

    def _cheapest(self, class_cost: Tensor, pred_bboxes: Tensor, gt_instances: InstanceData,
                  image_wh: Tensor, k: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Each instance's k cheapest points, as pairs sorted by instance, then point; key −C.

        Exact, without the GIoU of every pair: the cheap terms (focal cost, L1) are computed for
        all N × m pairs in (m, N) layout; since GIoU <= IoU <= min(A_i, A_j) / max(A_i, A_j)
        (A: box areas), ``cheap − w_GIoU · area ratio`` is a lower bound of C_ij. The exact cost
        of each instance's k best points by that bound is an upper bound of its k-th smallest
        cost; only the points whose lower bound does not exceed it can be among its k cheapest,
        and only those get a GIoU."""
        w_cls, w_l1, w_giou = self.weights
        num_points, num_gts = len(pred_bboxes), len(gt_instances)
        class_cost_t = class_cost.t().contiguous()  # (C, N): a row gather per instance
        pred_norm = pred_bboxes / image_wh  # (N, 4)
        pred_area = ((pred_bboxes[:, 2] - pred_bboxes[:, 0])
                     * (pred_bboxes[:, 3] - pred_bboxes[:, 1]))  # (N,)
        chunk = max(1, CHUNK_ENTRIES // max(num_points, 1))
        points, instances, keys = [], [], []
        for begin in range(0, num_gts, chunk):
            gt_bboxes = gt_instances.bboxes[begin:begin + chunk]  # (m, 4)
            cheap = w_cls * class_cost_t[gt_instances.labels[begin:begin + chunk]]  # (m, N)
            cheap += w_l1 * torch.cdist(gt_bboxes / image_wh, pred_norm, p=1)  # (m, N)
            if w_giou == 0 or not self.prune:
                if w_giou:  # the reference: every pair's GIoU
                    cheap -= w_giou * bbox_overlaps(gt_bboxes, pred_bboxes, mode='giou')
                top_cost, top_point = cheap.topk(k, dim=1, largest=False)  # (m, k)
                instance = torch.arange(len(gt_bboxes), device=cheap.device)[:, None]
                instance, point, cost = instance.expand(-1, k).flatten(), top_point.flatten(), \
                    top_cost.flatten()
            else:
                # GIoU <= IoU <= min(area_i, area_j) / max(area_i, area_j)
                gt_area = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
                iou_bound = torch.minimum(gt_area[:, None], pred_area[None])  # (m, N)
                iou_bound.div_(torch.maximum(gt_area[:, None], pred_area[None]).clamp_(min=1e-6))
                lower = iou_bound.mul_(-w_giou).add_(cheap)  # (m, N) lower bound of C_ij
                _, probe = lower.topk(k, dim=1, largest=False)  # (m, k) best by the bound
                row = torch.arange(len(gt_bboxes), device=cheap.device)[:, None].expand(-1, k)
                probe_cost = cheap.gather(1, probe) - w_giou * bbox_overlaps(
                    pred_bboxes[probe.flatten()], gt_bboxes[row.flatten()], mode='giou',
                    is_aligned=True).view(-1, k)  # (m, k) exact
                bound = probe_cost.amax(dim=1)  # (m,) >= each instance's k-th smallest C_ij
                instance, point = (lower <= bound[:, None]).nonzero(as_tuple=True)  # (S,) each
                cost = cheap[instance, point] - w_giou * bbox_overlaps(
                    pred_bboxes[point], gt_bboxes[instance], mode='giou', is_aligned=True)
                # instance, then cost: one sort of a float64 key (costs lie far inside ±1e6)
                order = (instance.double() * 1e7 + cost.double()).argsort()
                instance, point, cost = instance[order], point[order], cost[order]
                count = torch.bincount(instance, minlength=len(gt_bboxes))
                rank = torch.arange(len(instance), device=cheap.device) - (
                    count.cumsum(0) - count)[instance]
                keep = rank < k
                instance, point, cost = instance[keep], point[keep], cost[keep]
            points.append(point)
            instances.append(instance + begin)
            keys.append(-cost)
        point, instance, key = torch.cat(points), torch.cat(instances), torch.cat(keys)
        order = (instance * num_points + point).argsort()
        return point[order], instance[order], key[order]

    @staticmethod
    def _image_wh(img_shape: Sequence[int], pred_instances: InstanceData) -> Tensor:
        height, width = img_shape[:2]
        if not (height > 0 and width > 0):
            raise ValueError(f'img_shape must be a positive (h, w), got {tuple(img_shape)!r}')
        return pred_instances.bboxes.new_tensor([width, height, width, height])
