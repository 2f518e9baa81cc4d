"""DSLA head: the one-to-one subnet plus the training-only Soft Label Assignment subnet."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import Scale
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from torch import Tensor, nn

from ..task_modules.assigners.one_to_one_assigner import SOFT
from .o2o_head import O2OHead, avg_factor, onenet_init

DSLA_INIT = onenet_init('conv_cls', 'sla_conv_cls')


@MODELS.register_module()
class DSLAHead(O2OHead):
    """Dual Subnet Label Assignment (paper §3.1): Loss = λ_o2o · L_o2o + λ_SLA · L_SLA (eq. 1).

    Both subnets read the SAME shared classification and regression tower features (Figure 2);
    the SLA subnet has only its own output convs (``sla_conv_cls``, ``sla_conv_reg``, per-level
    ``sla_scales``), run in training together with the O2O ones (:meth:`forward_train_single`).
    In eval mode ``forward`` runs the O2O outputs only, so inference is the baseline's graph;
    ``dsla.analysis.deploy`` drops the SLA parameters altogether.

    L_o2o is the baseline's loss and assignment (``O2OHead``: OneNet's ``MinCostAssigner`` by
    default). L_SLA, on the SLA subnet's outputs:
      * assignment by ``SoftLabelAssigner``: certain anchor argmax_i S_ij inside Ω_j (eq. 2), the
        next K points by S_ij as soft anchors, targets t_i = T_j · p_i / max_k p_k (eqs. 3–4);
      * classification, eq. 5, ``SoftLabelBCELoss``: BCE(p, 1) at certain anchors,
        ``soft_anchor_weight`` · BCE(p, t_i) at soft anchors, O2F-modulated BCE(p, 0) at
        negatives (choice explained there). Eq. 5 as printed weighs the soft terms 1 (the
        default); O2F weighs them 0.4 (``o2f_head.py``: ``soft_weight``), the option;
      * regression, eq. 6: GIoU on the certain and the soft anchors (weight 2, as the O2O GIoU),
        each anchor weighted 1, as eq. 6 prints it (O2F instead weights its GIoU by centerness
        targets and divides by their sum).
      Both SLA terms are divided by the number of certain + soft anchors in the batch (averaged
      over GPUs, at least 1) — O2F's normaliser of its classification loss. Logged as
      ``loss_sla_cls``, ``loss_sla_bbox``.

    Which scores build S_ij and t_i: the SLA subnet's own predictions. Figure 2 gives each
    branch its own (ground truth, prediction) pairing and loss; O2F, which the SLA branch
    follows, ranks and scales with the same head it trains, and DDQ's auxiliary one-to-many
    branch on shared towers is assigned from its own outputs too. The O2O subnet is assigned
    from the O2O outputs. No gradient flows through either assignment or the targets.

    The epoch j and schedule length N of eq. 4 come from ``SoftLabelScheduleHook`` (through
    :meth:`set_soft_label_epoch`); training without it raises an error that says so.

    Args:
        num_soft_anchors: K (paper default 6).
        t_max, t_min: T^max and T^min of eq. 4 (paper defaults 0.6 and 0.4).
        lambda_o2o, lambda_sla: λ of eq. 1 (the paper gives no values; 1 and 1, as DDQ weighs
            its auxiliary branch like the main one).
        soft_anchor_weight: weight of a soft anchor's BCE in eq. 5 (1.0 as printed; O2F 0.4).
        center_radius, poto_alpha: Ω_j and S_ij of the SLA subnet's eq. 2 (``SoftLabelAssigner``).
        loss_sla_cls, loss_sla_bbox: losses of eqs. 5 and 6.
        Others as :class:`O2OHead`.
    """

    def __init__(self,
                 *args,
                 num_soft_anchors: int = 6,
                 t_max: float = 0.6,
                 t_min: float = 0.4,
                 lambda_o2o: float = 1.0,
                 lambda_sla: float = 1.0,
                 soft_anchor_weight: float = 1.0,
                 loss_sla_cls: ConfigType = dict(type='SoftLabelBCELoss'),
                 loss_sla_bbox: ConfigType = dict(type='GIoULoss', loss_weight=2.0),
                 init_cfg=DSLA_INIT,
                 center_radius: Optional[float] = 1.5,
                 poto_alpha: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(*args, init_cfg=init_cfg, **kwargs)
        for name, value in (('lambda_o2o', lambda_o2o), ('lambda_sla', lambda_sla),
                            ('soft_anchor_weight', soft_anchor_weight)):
            if not value >= 0:
                raise ValueError(f'{name} must be >= 0, got {value!r}')
        self.lambda_o2o = lambda_o2o
        self.lambda_sla = lambda_sla
        self.soft_anchor_weight = soft_anchor_weight
        self.sla_assigner = TASK_UTILS.build(dict(
            type='SoftLabelAssigner', num_soft_anchors=num_soft_anchors, t_max=t_max,
            t_min=t_min, center_radius=center_radius, poto_alpha=poto_alpha))
        self.loss_sla_cls = MODELS.build(loss_sla_cls)
        self.loss_sla_bbox = MODELS.build(loss_sla_bbox)
        self.epoch: Optional[int] = None
        self.max_epochs: Optional[int] = None

    def _init_layers(self) -> None:
        """The O2O layers, then the SLA subnet's output convs on the same tower features."""
        super()._init_layers()
        self.sla_conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.sla_conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)
        self.sla_scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    # ---------------------------------------------------------------------- epoch (eq. 4)
    def set_soft_label_epoch(self, epoch: int, max_epochs: int) -> None:
        """Called by ``SoftLabelScheduleHook`` before each training epoch (j 0-based, N)."""
        self.sla_assigner.scale(epoch, max_epochs)  # validates j and N
        self.epoch, self.max_epochs = epoch, max_epochs

    @property
    def soft_label_scale(self) -> float:
        """T_j of eq. 4 for the current epoch."""
        self._require_epoch()
        return self.sla_assigner.scale(self.epoch, self.max_epochs)

    def _require_epoch(self) -> None:
        if self.epoch is None:
            raise RuntimeError(
                'DSLAHead does not know the training epoch needed by eq. 4: add '
                "dict(type='SoftLabelScheduleHook') to custom_hooks, or call "
                'set_soft_label_epoch(epoch, max_epochs) before computing losses')

    # --------------------------------------------------------------------------- forward
    def forward(self, x: Tuple[Tensor, ...]):
        """Training: (o2o cls, o2o box, sla cls, sla box) per level; eval: the O2O pair only."""
        if not self.training:
            return multi_apply(self.forward_single, x, self.scales, self.strides)[:2]
        return multi_apply(self.forward_train_single, x, self.scales, self.sla_scales,
                           self.strides)

    def forward_train_single(self, x: Tensor, scale: Scale, sla_scale: Scale, stride: int):
        """One level in training: the shared towers, then both subnets' output convs.

        The O2O and SLA output convs read the same tower features with the same 3×3 kernel
        shape, so each pair runs as one convolution over the concatenated weights (C + C and
        4 + 4 output channels): the same parameters, gradients and results as two convs, at
        about the cost of one (on CPU a conv with a handful of output channels costs nearly
        as much as a full one; benchmarks/bench_train_cost.py profiles it)."""
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        cls_out = F.conv2d(cls_feat, torch.cat([self.conv_cls.weight, self.sla_conv_cls.weight]),
                           torch.cat([self.conv_cls.bias, self.sla_conv_cls.bias]), padding=1)
        reg_out = F.conv2d(reg_feat, torch.cat([self.conv_reg.weight, self.sla_conv_reg.weight]),
                           torch.cat([self.conv_reg.bias, self.sla_conv_reg.bias]), padding=1)
        num_cls = self.cls_out_channels
        return (cls_out[:, :num_cls], self.distances(reg_out[:, :4], scale, stride),
                cls_out[:, num_cls:], self.distances(reg_out[:, 4:], sla_scale, stride))

    # ------------------------------------------------------------------------------ loss
    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     sla_cls_scores: List[Tensor], sla_bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """Eq. 1: λ_o2o · L_o2o + λ_SLA · L_SLA, returned term by term (mmengine sums them)."""
        self._require_epoch()
        o2o = self.one_to_one_losses(self.flatten_branch(cls_scores, bbox_preds),
                                     batch_gt_instances, batch_img_metas,
                                     batch_gt_instances_ignore)
        sla = self.soft_label_losses(self.flatten_branch(sla_cls_scores, sla_bbox_preds),
                                     batch_gt_instances, batch_img_metas,
                                     batch_gt_instances_ignore)
        losses = {name: self.lambda_o2o * value for name, value in o2o.items()}
        losses.update({name: self.lambda_sla * value for name, value in sla.items()})
        return self.check_finite(losses)

    def soft_label_losses(self, outputs, batch_gt_instances: InstanceList,
                          batch_img_metas: List[dict],
                          batch_gt_instances_ignore: OptInstanceList) -> dict:
        """L_SLA of the SLA subnet: eq. 5 (classification) and eq. 6 (GIoU), keyed loss_sla_*."""
        results = self.assign_batch(self.sla_assigner, outputs, batch_gt_instances,
                                    batch_gt_instances_ignore, batch_img_metas,
                                    epoch=self.epoch, max_epochs=self.max_epochs)
        targets = self.get_targets(results, batch_gt_instances)
        soft_targets = self._cat_property(results, 'soft_targets')  # (B·N,)
        soft = self._cat_property(results, 'point_role') == SOFT  # (B·N,)
        target_weights = torch.where(soft, self.soft_anchor_weight, 1.0)  # (B·N,)
        num_pos = avg_factor(targets.positive.sum())
        pos_bboxes = outputs.bboxes.flatten(0, 1)[targets.positive]  # (P, 4)
        return dict(
            loss_sla_cls=self.loss_sla_cls(outputs.logits.flatten(0, 1), targets.labels,
                                           soft_targets, targets.label_weights,
                                           avg_factor=num_pos, target_weight=target_weights),
            loss_sla_bbox=self.loss_sla_bbox(pos_bboxes, targets.gt_bboxes, avg_factor=num_pos))

    @staticmethod
    def _cat_property(results, key: str) -> Tensor:
        return torch.cat([result.get_extra_property(key) for result in results])
