"""Soft label assignment of the SLA subnet: a certain anchor, K soft anchors, soft targets."""
import numbers
from typing import Optional

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor

from .one_to_one_assigner import CERTAIN, SOFT, OneToOneAssigner


def soft_label_scale(epoch: int, max_epochs: int, t_max: float, t_min: float) -> float:
    """Eq. 4: T_j = (T^min − T^max) / (N − 1) · j + T^max.

    ``epoch`` j is 0-based, so the first epoch gets T^max and the last (j = N − 1) gets T^min
    (O2F sets the same 0-based epoch from a hook). N = ``max_epochs`` is the length of the
    training schedule (``train_cfg.max_epochs``). With N = 1 the formula divides by zero; the
    single epoch then uses T^max (it is the first epoch).
    """
    if not 0 <= epoch < max_epochs:
        raise ValueError(f'epoch must be in [0, max_epochs={max_epochs}), got {epoch}')
    if max_epochs == 1:
        return float(t_max)
    return (t_min - t_max) / (max_epochs - 1) * epoch + t_max  # eq. 4


def soft_label(p_soft: Tensor, instance: Tensor, num_gts: int, scale: float) -> Tensor:
    """Eq. 3: t_i = T_j · p_i / max_k p_k, the soft target of soft anchor i of instance j.

    p_i = p_{i,c_j} is the predicted score of the instance's class; the max runs over the soft
    anchors the instance keeps (after conflicts are settled), the certain anchor excluded — O2F
    normalises over the points an instance ends up with (the paper does not say) — so the most
    confident kept soft anchor gets exactly T_j and the others proportionally less.

    Args:
        p_soft: (E,) p_{i,c_j} of each kept soft anchor (point i, instance j), without gradient.
        instance: (E,) the instance j of each.
        num_gts: M, the number of instances.
        scale: T_j from eq. 4.

    Returns:
        (E,) targets.
    """
    p_max = p_soft.new_zeros(num_gts).scatter_reduce(0, instance, p_soft, 'amax')  # (M,)
    return scale * p_soft / p_max[instance].clamp(min=1e-12)  # (E,), eq. 3


@TASK_UTILS.register_module()
class SoftLabelAssigner(OneToOneAssigner):
    """The SLA subnet's assignment: per instance the certain anchor (argmax_i S_ij, eq. 2), the
    next K points by S_ij as soft anchors, and soft targets by eqs. 3–4.

    Contract of :meth:`assign`: as :class:`OneToOneAssigner` (N points, M instances), plus
    ``epoch`` (0-based j) and ``max_epochs`` (N of eq. 4) keyword arguments. Returns an mmdet
    ``AssignResult`` whose positives (``gt_inds > 0``) are the certain and the soft anchors, with
    extra properties
        ``soft_targets`` (N,) float: 1 at certain anchors, t_i (eq. 3) at soft anchors, 0 else;
        ``point_role`` (N,) long: CERTAIN (2), SOFT (1) or NEGATIVE (0).

    Gaps the paper leaves, closed here:
      * soft anchors need S_ij > 0 (inside Ω_j with non-zero score and overlap), as O2F's
        candidates need IoU > 0; an instance with fewer such points has fewer soft anchors.
      * a point wanted by several instances (``settle_claims``, ``match_certain``): certain
        beats soft, then the higher S_ij wins; an instance that loses its certain anchor takes
        its next-best free point (O2F promotes its best remaining point), so every instance with
        a point in Ω_j has a certain anchor. A lost soft claim is not replaced (O2F). The max of
        eq. 3 is taken over the soft anchors the instance keeps after those conflicts (O2F), so
        an instance's best kept soft anchor always gets T_j.
      * the scores p come from the subnet being trained (its ``pred_instances.scores``): the
        DSLA head passes the SLA subnet's own predictions (see ``DSLAHead``).

    Args:
        num_soft_anchors: K, soft anchors per instance (paper default 6).
        t_max: T^max of eq. 4 (paper default 0.6).
        t_min: T^min of eq. 4 (paper default 0.4).
        center_radius, poto_alpha, sparse: as :class:`OneToOneAssigner`.
    """

    def __init__(self, num_soft_anchors: int = 6, t_max: float = 0.6, t_min: float = 0.4,
                 center_radius: Optional[float] = 1.5,
                 poto_alpha: Optional[float] = None, sparse: bool = True) -> None:
        super().__init__(center_radius=center_radius, poto_alpha=poto_alpha, sparse=sparse)
        if not isinstance(num_soft_anchors, numbers.Integral) or num_soft_anchors < 0:
            raise ValueError(f'num_soft_anchors (K) must be an int >= 0, got {num_soft_anchors!r}')
        for name, value in (('t_max', t_max), ('t_min', t_min)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1] (a soft target), got {value!r}')
        self.num_soft_anchors = int(num_soft_anchors)
        self.t_max = t_max
        self.t_min = t_min

    def scale(self, epoch: int, max_epochs: int) -> float:
        """T_j (eq. 4) of 0-based epoch j in a schedule of ``max_epochs`` epochs."""
        return soft_label_scale(epoch, max_epochs, self.t_max, self.t_min)

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None, *, epoch: int,
               max_epochs: int, grid_levels=None, **kwargs) -> AssignResult:
        """Assign certain and soft anchors and their classification targets."""
        return self.assign_images([pred_instances], [gt_instances], [gt_instances_ignore],
                                  epoch=epoch, max_epochs=max_epochs,
                                  grid_levels=grid_levels)[0]

    @torch.no_grad()
    def assign_images(self, pred_list, gt_list, ignore_list=None, *, epoch: int,
                      max_epochs: int, grid_levels=None, **kwargs) -> list:
        """:meth:`assign` for the images of a batch in one pass (see ``OneToOneAssigner``)."""
        batch = self._batch(pred_list, gt_list, ignore_list, grid_levels)
        claims = self._claims(batch)
        targets = (claims.point_role == CERTAIN).to(claims.point_quality.dtype)  # (B·N,)
        points, instances = claims.soft_point, claims.soft_instance  # (E,) each
        # the claims whose point ended up as a soft anchor of their instance
        kept = (claims.point_role[points] == SOFT) & (claims.point_gt[points] == instances)
        points, instances = points[kept], instances[kept]  # (E',) each
        if len(points):
            p_soft = batch.scores[points, batch.gt_labels[instances]]  # (E',)
            t = soft_label(p_soft, instances, len(batch.gt_bboxes),
                           self.scale(epoch, max_epochs))  # (E',), eq. 3 over the kept anchors
            targets[points] = t.to(targets.dtype)
        return self._split(batch, claims, gt_list, dict(soft_targets=targets))
