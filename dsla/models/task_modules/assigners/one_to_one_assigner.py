"""One-to-one assignment by eq. 2, and what every assigner here shares: Ω_j enumerated sparsely,
claims settled as O2F does (certain before soft, then higher S_ij, losers move on)."""
from typing import List, NamedTuple, Optional, Tuple

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

# Roles a point can hold for an instance; a point claimed by several instances keeps the
# strongest role, then the highest S_ij (see ``settle_claims``).
NEGATIVE, SOFT, CERTAIN = 0, 1, 2


# ------------------------------------------------------------------------------ Ω_j (eq. 2)
def inside_prior(xs: Tensor, ys: Tensor, stride_w: Tensor, stride_h: Tensor, boxes: Tensor,
                 center_radius: Optional[float]) -> Tensor:
    """``1[i ∈ Ω_j]`` elementwise (broadcasting) for points (x, y, strides) and boxes (..., 4).

    Ω_j is FCOS's centre-sampling region: the square of half side ``center_radius × stride``
    around the box centre, clipped to the box, on every FPN level (no scale ranges: as in POTO,
    the matching quality, not a size rule, picks the level). ``center_radius=None`` makes Ω_j the
    whole box (DeFCN's CrowdHuman prior). The paper only says "centre region"; radius 1.5 is the
    value of DeFCN/POTO and O2F. The dense (:func:`prior_region`) and the sparse
    (:func:`prior_pairs`) enumerations both decide with this one predicate, so they agree exactly.
    """
    x1, y1, x2, y2 = boxes.unbind(-1)
    if center_radius is None:
        return (xs > x1) & (xs < x2) & (ys > y1) & (ys < y2)
    # the centre square clipped to the box is centred on the box: half side min(r·s, w/2)
    half_w = torch.minimum(center_radius * stride_w, (x2 - x1) / 2)
    half_h = torch.minimum(center_radius * stride_h, (y2 - y1) / 2)
    return ((xs - (x1 + x2) / 2).abs() < half_w) & ((ys - (y1 + y2) / 2).abs() < half_h)


def prior_region(priors: Tensor, gt_bboxes: Tensor, center_radius: Optional[float]) -> Tensor:
    """Ω_j of eq. 2 as a dense (N, M) mask: the reference for :func:`prior_pairs`.

    Args:
        priors: (N, 4) points with strides, ``(x, y, stride_w, stride_h)``.
        gt_bboxes: (M, 4) boxes ``(x1, y1, x2, y2)``.
        center_radius: half side of the centre region in strides, or None for the whole box.

    Returns:
        (N, M) bool: ``1[i ∈ Ω_j]``. A box smaller than the finest stride can contain no point;
        its instance then has no positive (as in FCOS and POTO).
    """
    return inside_prior(priors[:, 0:1], priors[:, 1:2], priors[:, 2:3], priors[:, 3:4],
                        gt_bboxes[None], center_radius)  # (N, M)


class GridLevel(NamedTuple):
    """One FPN level of the flattened points: row-major, x = (col + offset_x) · stride_w."""
    start: int  # index of the level's first point in (N, 4) priors
    height: int
    width: int
    stride_w: float
    stride_h: float
    offset_x: float
    offset_y: float


def grid_layout(priors: Tensor) -> Optional[List[GridLevel]]:
    """The levels of ``priors`` if they are mmdet's ``MlvlPointGenerator`` grids (levels
    concatenated, each row-major), else None (then :func:`prior_pairs` falls back to the dense
    mask). Checked against the points themselves, so any other layout is detected."""
    num_points = len(priors)
    if num_points == 0:
        return None
    strides = priors[:, 2:4]
    change = (strides[1:] != strides[:-1]).any(dim=1).nonzero().flatten() + 1
    bounds = [0] + change.tolist() + [num_points]
    levels = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        points = priors[start:end]  # (n, 4)
        x0, y0, stride_w, stride_h = points[0].tolist()
        if stride_w <= 0 or stride_h <= 0:
            return None
        other_rows = (points[:, 1] != y0).nonzero()
        width = int(other_rows[0]) if len(other_rows) else len(points)
        height = len(points) // width
        if height * width != len(points):
            return None
        level = GridLevel(start, height, width, stride_w, stride_h, x0 / stride_w, y0 / stride_h)
        cols = torch.arange(width, dtype=priors.dtype, device=priors.device)
        rows = torch.arange(height, dtype=priors.dtype, device=priors.device)
        xs = ((cols + level.offset_x) * stride_w).repeat(height)
        ys = ((rows + level.offset_y) * stride_h).repeat_interleave(width)
        tolerance = 1e-3 * min(stride_w, stride_h)
        if not (torch.allclose(points[:, 0], xs, rtol=0, atol=tolerance)
                and torch.allclose(points[:, 1], ys, rtol=0, atol=tolerance)):
            return None
        levels.append(level)
    return levels


def prior_pairs(priors: Tensor, gt_bboxes: Tensor, center_radius: Optional[float],
                sparse: bool = True, levels: Optional[List[GridLevel]] = None
                ) -> Tuple[Tensor, Tensor]:
    """Ω_j of eq. 2 as (point, instance) pairs, without the dense (N, M) mask.

    On mmdet's point grids (:func:`grid_layout`), each instance's candidates are enumerated per
    FPN level: the columns and rows whose points can fall inside the centre square (one more on
    each side against rounding), then kept by the exact predicate of :func:`inside_prior`. With
    radius 1.5 that is at most 5 × 5 points per level before the test; time and memory grow with
    the candidates, not with N × M. ``levels`` gives the grid (the heads pass it, see
    ``O2OHead.flatten_branch``); without it the grid is recognised from the points. Other point
    sets (hand-made tests), or ``sparse=False``, use the dense mask (:func:`prior_region`), which
    gives the same pairs.

    Returns:
        point (P,), instance (P,): the pairs with ``i ∈ Ω_j``, sorted by instance, then point.
    """
    num_gts = len(gt_bboxes)
    layout = None
    if sparse and num_gts > 0:
        layout = levels if levels is not None else grid_layout(priors)
    if layout is None:
        point, instance = prior_region(priors, gt_bboxes, center_radius).nonzero(as_tuple=True)
        order = (instance * len(priors) + point).argsort()
        return point[order], instance[order]
    device, dtype = priors.device, priors.dtype
    level_t = torch.tensor([[lv.start, lv.height, lv.width] for lv in layout], device=device)
    geometry = torch.tensor([[lv.stride_w, lv.stride_h, lv.offset_x, lv.offset_y]
                             for lv in layout], dtype=dtype, device=device)  # (L, 4)
    stride_w, stride_h, offset_x, offset_y = geometry.unbind(1)  # (L,) each
    x1, y1, x2, y2 = gt_bboxes[:, None, :].unbind(-1)  # (M, 1) each
    if center_radius is None:
        half_w, half_h = (x2 - x1) / 2, (y2 - y1) / 2  # (M, 1)
    else:
        half_w = torch.minimum(center_radius * stride_w, (x2 - x1) / 2)  # (M, L)
        half_h = torch.minimum(center_radius * stride_h, (y2 - y1) / 2)  # (M, L)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2  # (M, 1)
    height, width = level_t[:, 1], level_t[:, 2]  # (L,)
    col_lo = ((cx - half_w) / stride_w - offset_x).floor().long().clamp(min=0)  # (M, L)
    col_hi = torch.minimum(((cx + half_w) / stride_w - offset_x).ceil().long(), width - 1)
    row_lo = ((cy - half_h) / stride_h - offset_y).floor().long().clamp(min=0)  # (M, L)
    row_hi = torch.minimum(((cy + half_h) / stride_h - offset_y).ceil().long(), height - 1)
    num_cols = (col_hi - col_lo + 1).clamp(min=0)  # (M, L)
    num_rows = (row_hi - row_lo + 1).clamp(min=0)  # (M, L)
    counts = (num_cols * num_rows).flatten()  # (M·L,)
    block = torch.repeat_interleave(torch.arange(len(counts), device=device), counts)  # (P',)
    offsets = counts.cumsum(0) - counts  # (M·L,)
    within = torch.arange(len(block), device=device) - offsets[block]  # (P',)
    cols_b = num_cols.flatten()[block]
    row = row_lo.flatten()[block] + within // cols_b
    col = col_lo.flatten()[block] + within % cols_b
    level = block % len(layout)
    point = level_t[level, 0] + row * width[level] + col  # (P',)
    instance = torch.div(block, len(layout), rounding_mode='floor')  # (P',)
    p = priors[point]  # (P', 4)
    keep = inside_prior(p[:, 0], p[:, 1], p[:, 2], p[:, 3], gt_bboxes[instance], center_radius)
    # blocks run instance by instance, level by level, rows then columns: already sorted by
    # instance, then point
    return point[keep], instance[keep]


# ------------------------------------------------------------------------------- S_ij (eq. 2)
def matching_quality(scores: Tensor, pred_bboxes: Tensor, gt_bboxes: Tensor, gt_labels: Tensor,
                     point: Tensor, instance: Tensor, poto_alpha: Optional[float] = None
                     ) -> Tensor:
    """Eq. 2: S_ij = 1[i ∈ Ω_j] · p_{i,c_j} · IoU(b_i, b_j), on the pairs inside Ω_j.

    The paper writes the plain product, and that is the default. ``poto_alpha`` switches to
    POTO's geometric form p^(1−α) · IoU^α (DeFCN and O2F use α = 0.8) for comparison. Outside
    Ω_j, S_ij = 0 and no pair is computed.

    Args:
        scores: (N, C) class probabilities p_{i,c}.
        pred_bboxes: (N, 4) predicted boxes b_i.
        gt_bboxes: (M, 4) instance boxes b_j.
        gt_labels: (M,) instance classes c_j.
        point, instance: (P,) the pairs (i, j) with i ∈ Ω_j (:func:`prior_pairs`).
        poto_alpha: None for eq. 2 as printed, else POTO's exponent α in [0, 1].

    Returns:
        (P,) S_ij of each pair.
    """
    p = scores[point, gt_labels[instance]]  # (P,)
    iou = bbox_overlaps(pred_bboxes[point], gt_bboxes[instance], is_aligned=True)  # (P,)
    if poto_alpha is not None:
        return p.pow(1 - poto_alpha) * iou.pow(poto_alpha)  # (P,), POTO's form
    return p * iou  # (P,), eq. 2


# ------------------------------------------------------------------------- settling claims
class Ranking(NamedTuple):
    """Candidate pairs of one image grouped by instance, best first (P pairs, M instances)."""
    point: Tensor  # (P,) point of each pair
    instance: Tensor  # (P,) instance of each pair, non-decreasing
    key: Tensor  # (P,) matching key, larger is better (S_ij, or −cost)
    rank: Tensor  # (P,) 0-based rank of the pair within its instance
    first: Tensor  # (M,) index of each instance's best pair
    count: Tensor  # (M,) number of candidate pairs of each instance


def rank_pairs(point: Tensor, instance: Tensor, key: Tensor, num_gts: int) -> Ranking:
    """Sort pairs by instance, then key descending, ties by lower point index (the input must be
    sorted by instance, then point, as :func:`prior_pairs` returns it)."""
    span = float(key.max() - key.min()) + 1.0 if len(key) else 1.0
    order = (instance.double() * (2 * span) - key.double()).argsort(stable=True)  # (P,)
    point, instance, key = point[order], instance[order], key[order]
    count = torch.bincount(instance, minlength=num_gts)  # (M,)
    first = count.cumsum(0) - count  # (M,)
    rank = torch.arange(len(point), device=point.device) - first[instance]  # (P,)
    return Ranking(point, instance, key, rank, first, count)


def match_certain(ranking: Ranking, num_points: int) -> Tensor:
    """Each instance's certain anchor, with conflicts settled as O2F settles them.

    Every instance claims its best candidate; a point claimed by several instances goes to the
    higher key (S_ij; then the lower instance index), and an instance that loses its point takes
    its next-best point that is still free — it may in turn displace a weaker holder. This is
    deferred acceptance with both sides ranking by the same key, whose result is the greedy
    matching by decreasing key: no instance with a candidate left ends without a certain anchor
    (O2F promotes an instance's best remaining point in the same way; the paper, which takes
    argmax_i S_ij per instance, does not say what happens on a tie for a point).

    Vectorised over instances, one round per displacement step (a few in dense crowds).

    Returns:
        (M,) long: index into the ranking's pairs of each instance's certain anchor, −1 if none.
    """
    num_gts = len(ranking.count)
    device = ranking.point.device
    proposed = torch.zeros(num_gts, dtype=torch.long, device=device)  # candidates tried
    chosen = torch.full((num_gts,), -1, dtype=torch.long, device=device)  # pair index held
    holder = torch.full((num_points,), -1, dtype=torch.long, device=device)  # instance per point
    free = (ranking.count > 0).nonzero().flatten()  # (F,)
    while len(free):
        pair = ranking.first[free] + proposed[free]  # (F,) each free instance's next candidate
        proposed[free] += 1
        points = ranking.point[pair]  # (F,)
        current = holder[points]  # (F,) who holds the point now, −1 if nobody
        held = current >= 0
        contest_inst = torch.cat([free, current[held]])  # proposers and holders of those points
        contest_pair = torch.cat([pair, chosen[current[held]]])
        contest_point = torch.cat([points, points[held]])
        contest_key = ranking.key[contest_pair]
        best = torch.full((num_points,), -torch.inf, dtype=contest_key.dtype, device=device)
        best.scatter_reduce_(0, contest_point, contest_key, 'amax')
        tied = contest_key == best[contest_point]
        winner = torch.full((num_points,), num_gts, dtype=torch.long, device=device)
        winner.scatter_reduce_(0, contest_point[tied], contest_inst[tied], 'amin')
        won = winner[contest_point] == contest_inst  # (F + H,)
        lost = contest_inst[~won]  # proposers refused and holders displaced (unique instances)
        chosen[lost] = -1
        holder[contest_point[won]] = contest_inst[won]
        chosen[contest_inst[won]] = contest_pair[won]
        free = lost[proposed[lost] < ranking.count[lost]]
    return chosen


def settle_claims(ranking: Ranking, certain: Tensor, soft_ok: Tensor, num_soft: int,
                  num_points: int) -> 'Claims':
    """Certain anchors (from :func:`match_certain`) and up to K soft anchors per instance, then
    one owner per point.

    Soft anchors of instance j: its K best candidates other than its certain anchor that pass
    ``soft_ok`` (S_ij > 0). A point that is any instance's certain anchor stays certain (certain
    beats soft); a point that is a soft anchor of several instances goes to the higher key, then
    the lower instance index (O2F: a shared point goes to the highest quality). A lost soft claim
    is not replaced (O2F keeps the top-k and drops what others win).

    Returns:
        Claims: per point owner, role and key; the soft claims (before the soft-vs-soft
        resolution; the SLA assigner keeps those whose point it won for eq. 3).
    """
    device = ranking.point.device
    has_certain = certain >= 0  # (M,)
    certain_rank = torch.where(has_certain, ranking.rank[certain.clamp(min=0)],
                               torch.iinfo(torch.long).max)  # (M,)
    pair_certain_rank = certain_rank[ranking.instance]  # (P,)
    is_certain = ranking.rank == pair_certain_rank  # (P,)
    soft_rank = ranking.rank - (ranking.rank > pair_certain_rank).long()  # rank without certain
    is_soft = ~is_certain & (soft_rank < num_soft) & soft_ok  # (P,)

    point_gt = torch.zeros(num_points, dtype=torch.long, device=device)
    point_role = torch.full((num_points,), NEGATIVE, dtype=torch.long, device=device)
    point_key = torch.zeros(num_points, dtype=ranking.key.dtype, device=device)
    certain_pairs = certain[has_certain]
    certain_points = ranking.point[certain_pairs]
    point_gt[certain_points] = ranking.instance[certain_pairs]
    point_role[certain_points] = CERTAIN
    point_key[certain_points] = ranking.key[certain_pairs]

    soft_point, soft_instance = ranking.point[is_soft], ranking.instance[is_soft]  # (E,)
    soft_key = ranking.key[is_soft]
    open_ = point_role[soft_point] != CERTAIN  # certain beats soft
    points, instances, keys = soft_point[open_], soft_instance[open_], soft_key[open_]
    if len(points):
        best = torch.full((num_points,), -torch.inf, dtype=keys.dtype, device=device)
        best.scatter_reduce_(0, points, keys, 'amax')
        tied = keys == best[points]
        winner = torch.full((num_points,), len(ranking.count), dtype=torch.long, device=device)
        winner.scatter_reduce_(0, points[tied], instances[tied], 'amin')
        won = winner[points] == instances
        point_gt[points[won]] = instances[won]
        point_role[points[won]] = SOFT
        point_key[points[won]] = keys[won]
    return Claims(point_gt, point_role, point_key, soft_point, soft_instance)


class Claims(NamedTuple):
    """What an assigner decided for one image (N points, E soft claims)."""
    point_gt: Tensor  # (N,) instance a point is assigned to (meaningful if not NEGATIVE)
    point_role: Tensor  # (N,) CERTAIN, SOFT or NEGATIVE
    point_quality: Tensor  # (N,) key (S_ij, or −cost) of the point's claim, 0 if NEGATIVE
    soft_point: Tensor  # (E,) soft claims before soft-vs-soft resolution: point ...
    soft_instance: Tensor  # (E,) ... and instance


def empty_claims(num_points: int, device) -> Claims:
    """An image without instances: every point negative."""
    zeros = torch.zeros(num_points, dtype=torch.long, device=device)
    none = zeros.new_zeros(0)
    return Claims(zeros, zeros.clone(), zeros.float(), none, none)


def ignored_points(priors: Tensor, gt_instances_ignore: Optional[InstanceData],
                   sparse: bool = True, levels: Optional[List[GridLevel]] = None
                   ) -> Optional[Tensor]:
    """(N,) bool: points inside an ignore box (CrowdHuman's ``mask``/``ignore``), or None."""
    if gt_instances_ignore is None or len(gt_instances_ignore) == 0:
        return None
    point, _ = prior_pairs(priors, gt_instances_ignore.bboxes, None, sparse, levels)
    inside = torch.zeros(len(priors), dtype=torch.bool, device=priors.device)
    inside[point] = True
    return inside


def assign_result(claims: Claims, gt_instances: InstanceData,
                  ignored: Optional[Tensor]) -> AssignResult:
    """Pack per-point claims into an mmdet AssignResult (shapes in OneToOneAssigner's doc)."""
    positive = claims.point_role != NEGATIVE  # (N,)
    gt_inds = torch.where(positive, claims.point_gt + 1, 0)  # (N,)
    labels = torch.full_like(gt_inds, -1)  # (N,)
    labels[positive] = gt_instances.labels[claims.point_gt[positive]]
    if ignored is not None:
        gt_inds[ignored & ~positive] = -1
    result = AssignResult(len(gt_instances), gt_inds, claims.point_quality, labels)
    result.set_extra_property('point_role', claims.point_role)
    return result


@TASK_UTILS.register_module()
class OneToOneAssigner(BaseAssigner):
    """One positive point per instance, the certain anchor: argmax_i S_ij of eq. 2 (no Hungarian).

    DSLA's SLA subnet picks its certain anchor this way (§3.3). For the O2O subnet and the
    baseline the paper names OneNet, whose matching is :class:`MinCostAssigner` (the default of
    the heads); this assigner is the named option ``assigner=dict(type='OneToOneAssigner')``
    for the O2O subnet ("eq. 2 O2O matching").

    Contract of :meth:`assign` (N points, M instances, C classes):
        pred_instances.priors  (N, 4) points ``(x, y, stride_w, stride_h)``
        pred_instances.bboxes  (N, 4) predicted boxes, ``(x1, y1, x2, y2)``
        pred_instances.scores  (N, C) class probabilities (no gradient needed)
        gt_instances.bboxes    (M, 4), gt_instances.labels (M,)
        gt_instances_ignore.bboxes (I, 4), optional: negative points located inside an ignore
            region get ``gt_inds = -1`` (left out of the classification loss), the mmdet
            convention for CrowdHuman's ``mask``/``ignore`` boxes.
        grid_levels (keyword, optional): the points' FPN grid (list of :class:`GridLevel`), which
            the heads pass; without it the grid is recognised from the points.
    Returns an mmdet ``AssignResult``: ``gt_inds`` (N,) 1-based instance index, 0 negative,
    −1 ignored; ``labels`` (N,) class or −1; ``max_overlaps`` (N,) S_ij of the assigned pair;
    extra property ``point_role`` (N,).

    Conflicts: two instances whose best point is the same: the point goes to the higher S_ij and
    the other instance takes its next-best free point in Ω_j (:func:`match_certain`, as O2F). So
    every instance whose Ω_j holds a point has a positive; one whose Ω_j is empty has none.
    Images without instances give all points negative.

    Args:
        center_radius: Ω_j's half side in strides (see :func:`inside_prior`); None = whole box.
        poto_alpha: None for eq. 2 as printed, else POTO's exponent (see :func:`matching_quality`).
        sparse: enumerate Ω_j per FPN level (default) or through the dense (N, M) mask (the
            reference; same result, see :func:`prior_pairs`).
    """

    num_soft_anchors = 0

    def __init__(self, center_radius: Optional[float] = 1.5,
                 poto_alpha: Optional[float] = None, sparse: bool = True) -> None:
        if center_radius is not None and not center_radius > 0:
            raise ValueError(f'center_radius must be > 0 or None, got {center_radius!r}')
        if poto_alpha is not None and not 0.0 <= poto_alpha <= 1.0:
            raise ValueError(f'poto_alpha must be in [0, 1] or None, got {poto_alpha!r}')
        self.center_radius = center_radius
        self.poto_alpha = poto_alpha
        self.sparse = sparse

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None, *,
               grid_levels: Optional[List[GridLevel]] = None, **kwargs) -> AssignResult:
        """Assign the certain anchor of every instance; everything else is negative."""
        return self.assign_images([pred_instances], [gt_instances], [gt_instances_ignore],
                                  grid_levels=grid_levels, **kwargs)[0]

    @torch.no_grad()
    def assign_images(self, pred_list: List[InstanceData], gt_list: List[InstanceData],
                      ignore_list: Optional[List[Optional[InstanceData]]] = None, *,
                      grid_levels: Optional[List[GridLevel]] = None,
                      **kwargs) -> List[AssignResult]:
        """:meth:`assign` for the images of a batch (the same points), in one pass: their
        instances and points are concatenated (no pair crosses an image), so the per-call cost
        of the few dozen tensor operations is paid once per batch, not per image."""
        batch = self._batch(pred_list, gt_list, ignore_list, grid_levels)
        claims = self._claims(batch)
        return self._split(batch, claims, gt_list)

    def _batch(self, pred_list, gt_list, ignore_list, grid_levels) -> 'Batch':
        """Concatenate the images' predictions, instances and their Ω_j pairs (sorted by
        instance, then point, with global indices)."""
        priors = pred_list[0].priors  # (N, 4), the same for every image
        num_points, device = len(priors), priors.device
        counts = [len(gt) for gt in gt_list]
        gt_start = torch.tensor([0] + counts, device=device).cumsum(0)  # (B + 1,)
        gt_bboxes = torch.cat([gt.bboxes for gt in gt_list])  # (M, 4) over the batch
        gt_labels = torch.cat([gt.labels for gt in gt_list])  # (M,)
        image = torch.repeat_interleave(torch.arange(len(gt_list), device=device),
                                        torch.tensor(counts, device=device))  # (M,)
        levels = None
        if self.sparse:
            levels = grid_levels if grid_levels is not None else grid_layout(priors)
        point, instance = self._pairs(priors, gt_bboxes, image, levels, self.center_radius)
        ignored = None
        if ignore_list is not None and any(i is not None and len(i) for i in ignore_list):
            boxes = [i.bboxes if i is not None else gt_bboxes.new_zeros((0, 4))
                     for i in ignore_list]
            ignore_image = torch.repeat_interleave(
                torch.arange(len(boxes), device=device),
                torch.tensor([len(b) for b in boxes], device=device))
            inside, _ = self._pairs(priors, torch.cat(boxes), ignore_image, levels, None)
            ignored = torch.zeros(num_points * len(pred_list), dtype=torch.bool, device=device)
            ignored[inside] = True
        return Batch(torch.cat([p.scores for p in pred_list]),
                     torch.cat([p.bboxes for p in pred_list]), gt_bboxes, gt_labels, gt_start,
                     point, instance, num_points, ignored)

    def _pairs(self, priors, boxes, image, levels, center_radius):
        """(point, box) pairs with the point in the box's Ω (global point = image · N + local)."""
        num_points = len(priors)
        if levels is not None:  # one enumeration for the whole batch
            point, box = prior_pairs(priors, boxes, center_radius, True, levels)
            return point + image[box] * num_points, box
        points, boxes_ = [], []  # the dense reference, image by image
        for b in range(int(image.max()) + 1 if len(image) else 0):
            index = (image == b).nonzero().flatten()
            point, box = prior_pairs(priors, boxes[index], center_radius, sparse=False)
            points.append(point + b * num_points)
            boxes_.append(index[box])
        if not points:
            return image.new_zeros(0), image.new_zeros(0)
        return torch.cat(points), torch.cat(boxes_)

    def _claims(self, batch: 'Batch') -> Claims:
        """Rank each instance's points in Ω_j by S_ij and settle who gets which point.

        The certain anchor may have S_ij = 0 (it must lie in Ω_j); soft anchors need S_ij > 0
        (inside Ω_j with a non-zero score and overlap, as O2F's candidates need IoU > 0)."""
        num_points = len(batch.scores)
        num_gts = len(batch.gt_bboxes)
        if num_gts == 0:
            return empty_claims(num_points, batch.scores.device)
        quality = matching_quality(batch.scores, batch.bboxes, batch.gt_bboxes, batch.gt_labels,
                                   batch.point, batch.instance, self.poto_alpha)  # (P,)
        ranking = rank_pairs(batch.point, batch.instance, quality, num_gts)
        certain = match_certain(ranking, num_points)
        return settle_claims(ranking, certain, ranking.key > 0, self.num_soft_anchors,
                             num_points)

    @staticmethod
    def _split(batch: 'Batch', claims: Claims, gt_list: List[InstanceData],
               extra: Optional[dict] = None) -> List[AssignResult]:
        """One AssignResult per image (instance indices back to the image's own)."""
        results = []
        n = batch.points_per_image
        for b, gt_instances in enumerate(gt_list):
            window = slice(b * n, (b + 1) * n)
            image_claims = Claims(claims.point_gt[window] - batch.gt_start[b],
                                  claims.point_role[window], claims.point_quality[window],
                                  claims.soft_point[:0], claims.soft_instance[:0])
            ignored = batch.ignored[window] if batch.ignored is not None else None
            result = assign_result(image_claims, gt_instances, ignored)
            for key, value in (extra or {}).items():
                result.set_extra_property(key, value[window])
            results.append(result)
        return results


class Batch(NamedTuple):
    """The images of a batch concatenated (B images of N points, M instances in all)."""
    scores: Tensor  # (B·N, C)
    bboxes: Tensor  # (B·N, 4)
    gt_bboxes: Tensor  # (M, 4)
    gt_labels: Tensor  # (M,)
    gt_start: Tensor  # (B + 1,) first instance of each image
    point: Tensor  # (P,) Ω_j pairs: global point index ...
    instance: Tensor  # (P,) ... and instance, sorted by instance, then point
    points_per_image: int  # N
    ignored: Optional[Tensor]  # (B·N,) bool, inside an ignore region
