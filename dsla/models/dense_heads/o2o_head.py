"""The baseline: a OneNet/POTO-style fully convolutional one-to-one head, no NMS at test time."""
import math
from typing import List, NamedTuple, Optional, Tuple

import torch
from mmcv.cnn import Scale
from mmdet.models.dense_heads import AnchorFreeHead
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import distance2bbox, scale_boxes
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptInstanceList, reduce_mean
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..task_modules.assigners.one_to_one_assigner import GridLevel

# exp() of a larger value would give distances beyond any image (2048 strides); clamping keeps
# an early, diverging step finite instead of producing inf boxes.
MAX_LOG_DISTANCE = math.log(2048.0)
BOX_PARAMS = ('relu', 'exp')


def onenet_init(*cls_convs: str) -> dict:
    """OneNet's head initialisation as an mmengine ``init_cfg``: every conv weight Xavier
    uniform; the classification convs' bias −log((1 − π)/π) with prior π = 0.01 (FCOSHead
    ``_reset_parameters`` in PeizeSun/OneNet ``projects/OneNet/onenet/head.py``), the tower convs
    included (``layer='Conv2d'`` reaches the convs inside mmcv's ConvModules). One departure: the box
    conv's bias starts at 0 (OneNet keeps PyTorch's default, uniform in ±1/√(9·C) ≈ ±0.02 for
    C = 256)."""
    return dict(type='Xavier', layer='Conv2d', distribution='uniform',
                override=[dict(type='Xavier', name=name, distribution='uniform', bias_prob=0.01)
                          for name in cls_convs])


O2O_INIT = onenet_init('conv_cls')

# Our earlier initialisation, kept as an option (``init_cfg=NORMAL_INIT``): mmdet's FCOS/RetinaNet
# heads' — every conv Normal(0, 0.01), the same prior-0.01 classification bias.
NORMAL_INIT = dict(type='Normal', layer='Conv2d', std=0.01,
                   override=dict(type='Normal', name='conv_cls', std=0.01, bias_prob=0.01))


class BranchOutputs(NamedTuple):
    """One subnet's outputs for the batch, flattened over FPN levels (N points in all)."""
    priors: Tensor  # (N, 4) points (x, y, stride_w, stride_h)
    logits: Tensor  # (B, N, C) classification logits
    bboxes: Tensor  # (B, N, 4) decoded boxes (x1, y1, x2, y2), in pixels of the padded input
    levels: Optional[List[GridLevel]] = None  # the points' FPN grid, for sparse assignment


class BranchTargets(NamedTuple):
    """Targets for the batch, built from one AssignResult per image (B·N points)."""
    labels: Tensor  # (B·N,) class of the assigned instance, num_classes for negatives
    label_weights: Tensor  # (B·N,) 0 for ignored points, 1 otherwise
    positive: Tensor  # (B·N,) bool
    gt_bboxes: Tensor  # (P, 4) box of the assigned instance of each positive, in batch order
    image_index: Tensor  # (P,) image of each positive


def avg_factor(count: Tensor) -> float:
    """Normaliser of a loss: the count averaged over GPUs, at least 1 (empty batches)."""
    return max(reduce_mean(count.float()).item(), 1.0)


@MODELS.register_module()
class O2OHead(AnchorFreeHead):
    """One-to-one FCN head: the paper's baseline, OneNet ("We chose to use OneNet as baseline and
    also as O2O branch", §4.3), on FPN points.

    Layout: shared GN conv towers for classification and regression (``stacked_convs`` convs
    each, as FCOS/OneNet-FCOS), then ``conv_cls`` (C logits per point, sigmoid) and ``conv_reg``
    (ltrb distances ``relu(scale_l · x) · stride``, one learnable scale per level, as OneNet's
    FCOS head; ``box_param='exp'`` is our earlier ``stride · exp(scale_l · x)``). No
    centerness/objectness branch: OneNet scores by classification alone. Initialisation:
    OneNet's (:func:`onenet_init`: every conv Xavier uniform, prior-0.01 classification bias);
    ``init_cfg=NORMAL_INIT`` is our earlier mmdet-FCOS initialisation.

    Training: per instance exactly one positive point, by default OneNet's minimum-cost matching
    over all points, settled by Hungarian matching (``MinCostAssigner``: 2·focal cost + 5·L1 +
    2·(−GIoU)); every other point is negative. ``assigner=dict(type='OneToOneAssigner')`` is the named option of eq. 2's
    argmax S_ij inside Ω_j instead. Losses, OneNet's (``SetCriterion`` in PeizeSun/OneNet
    ``projects/OneNet/onenet/loss.py``): sigmoid focal loss (α 0.25, γ 2, weight 2) summed over
    all points and classes; GIoU (weight 2) and L1 on (x1, y1, x2, y2) boxes divided by the
    image's (w, h, w, h) (weight 5), summed over the positives; each divided by the number of
    ground-truth instances in the batch (averaged over GPUs, at least 1: OneNet's
    ``num_boxes``), so images without instances are fine. Logged as ``loss_o2o_cls``,
    ``loss_o2o_bbox``, ``loss_o2o_l1``; a non-finite loss raises an error that names it.

    Inference: no NMS. The ``test_cfg.max_per_img`` highest (point, class) scores over all levels
    are the detections, optionally above ``test_cfg.score_thr``.

    Args:
        num_classes: number of object classes.
        in_channels: channels of the FPN levels.
        assigner: the one-to-one assigner (default ``MinCostAssigner`` with OneNet's weights).
        loss_l1: OneNet's L1 box loss (normalised boxes), None to drop it.
        box_param: ``'relu'`` (OneNet: relu(scale · x) · stride) or ``'exp'`` (stride · exp(scale · x)).
        Others as mmdet's ``AnchorFreeHead`` (``feat_channels``, ``stacked_convs``, ``strides``,
        ``norm_cfg``, ``loss_cls``, ``loss_bbox``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 assigner: ConfigType = dict(type='MinCostAssigner'),
                 loss_cls: ConfigType = dict(
                     type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                     loss_weight=2.0),
                 loss_bbox: ConfigType = dict(type='GIoULoss', loss_weight=2.0),
                 loss_l1: OptConfigType = dict(type='L1Loss', loss_weight=5.0),
                 norm_cfg: OptConfigType = dict(type='GN', num_groups=32, requires_grad=True),
                 init_cfg=O2O_INIT,
                 box_param: str = 'relu',
                 **kwargs) -> None:
        if box_param not in BOX_PARAMS:
            raise ValueError(f'{type(self).__name__}: box_param must be one of {BOX_PARAMS}, '
                             f'got {box_param!r}')
        self.box_param = box_param
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError(f'{type(self).__name__} scores points with sigmoids: loss_cls must '
                             f'have use_sigmoid=True, got {loss_cls!r}')
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox,
                         norm_cfg=norm_cfg, init_cfg=init_cfg, **kwargs)
        self.assigner = TASK_UTILS.build(assigner)
        self.loss_l1 = MODELS.build(loss_l1) if loss_l1 is not None else None
        self.test_cfg = ConfigDict(self.test_cfg or dict(max_per_img=100))

    def _init_layers(self) -> None:
        """Shared towers and the one-to-one outputs (conv_cls, conv_reg, per-level scales)."""
        super()._init_layers()
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """Plain loading. ``AnchorFreeHead`` renames any key whose module name ends in
        'cls'/'reg' to conv_cls/conv_reg when a state dict has no version metadata (mmdet 1.x
        checkpoints); that would map DSLA's SLA outputs onto the O2O ones."""
        nn.Module._load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                        missing_keys, unexpected_keys, error_msgs)

    # ----------------------------------------------------------------------------- forward
    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[List[Tensor], List[Tensor]]:
        """Returns per level: cls logits (B, C, H, W) and ltrb distances (B, 4, H, W)."""
        return multi_apply(self.forward_single, x, self.scales, self.strides)[:2]

    def forward_single(self, x: Tensor, scale: Scale, stride: int):
        """One level: logits, distances in pixels, and the tower features (for DSLA)."""
        cls_score, raw_reg, cls_feat, reg_feat = super().forward_single(x)
        return cls_score, self.distances(raw_reg, scale, stride), cls_feat, reg_feat

    def distances(self, raw_reg: Tensor, scale: Scale, stride: int) -> Tensor:
        """ltrb distances in pixels.

        ``'relu'`` (default): relu(scale · raw) · stride, OneNet's FCOS head
        (``F.relu(scale_reg_ltrb) * self.features_stride[l]`` in ``head.py``); a side whose
        output is negative starts at 0. ``'exp'``: stride · exp(scale · raw), exponent clamped
        (see above); every point then starts with a box of about one stride per side."""
        scaled = scale(raw_reg).float()
        if self.box_param == 'exp':
            return scaled.clamp(max=MAX_LOG_DISTANCE).exp() * stride
        return scaled.relu() * stride

    # ------------------------------------------------------------------------------- loss
    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """L_o2o: focal + GIoU (+ L1) against the one-to-one assignment."""
        outputs = self.flatten_branch(cls_scores, bbox_preds)
        losses = self.one_to_one_losses(outputs, batch_gt_instances, batch_img_metas,
                                        batch_gt_instances_ignore)
        return self.check_finite(losses)

    def one_to_one_losses(self, outputs: BranchOutputs, batch_gt_instances: InstanceList,
                          batch_img_metas: List[dict],
                          batch_gt_instances_ignore: OptInstanceList) -> dict:
        """Losses of the O2O subnet, keyed loss_o2o_*."""
        results = self.assign_batch(self.assigner, outputs, batch_gt_instances,
                                    batch_gt_instances_ignore, batch_img_metas)
        targets = self.get_targets(results, batch_gt_instances)
        num_boxes = avg_factor(outputs.logits.new_tensor(  # OneNet's normaliser
            float(sum(len(gt_instances) for gt_instances in batch_gt_instances))))
        logits = outputs.logits.flatten(0, 1)  # (B·N, C)
        pos_bboxes = outputs.bboxes.flatten(0, 1)[targets.positive]  # (P, 4)
        losses = dict(
            loss_o2o_cls=self.loss_cls(logits, targets.labels, targets.label_weights,
                                       avg_factor=num_boxes),
            loss_o2o_bbox=self.loss_bbox(pos_bboxes, targets.gt_bboxes, avg_factor=num_boxes))
        if self.loss_l1 is not None:
            image_wh = pos_bboxes.new_tensor(
                [meta['img_shape'][::-1] for meta in batch_img_metas]).repeat(1, 2)  # (B, 4)
            size = image_wh[targets.image_index]  # (P, 4)
            losses['loss_o2o_l1'] = self.loss_l1(pos_bboxes / size, targets.gt_bboxes / size,
                                                 avg_factor=num_boxes)
        return losses

    def flatten_branch(self, cls_scores: List[Tensor], bbox_preds: List[Tensor]) -> BranchOutputs:
        """Concatenate a subnet's levels: points, logits and decoded boxes (BranchOutputs)."""
        batch_size = cls_scores[0].size(0)
        priors = torch.cat(self.prior_generator.grid_priors(
            [c.shape[-2:] for c in cls_scores], dtype=bbox_preds[0].dtype,
            device=bbox_preds[0].device, with_stride=True))  # (N, 4)
        logits = torch.cat([c.permute(0, 2, 3, 1).reshape(batch_size, -1, self.cls_out_channels)
                            for c in cls_scores], dim=1)  # (B, N, C)
        distances = torch.cat([d.permute(0, 2, 3, 1).reshape(batch_size, -1, 4)
                               for d in bbox_preds], dim=1)  # (B, N, 4)
        levels, start = [], 0
        for c, (stride_w, stride_h) in zip(cls_scores, self.prior_generator.strides):
            height, width = c.shape[-2:]
            offset = self.prior_generator.offset
            levels.append(GridLevel(start, height, width, float(stride_w), float(stride_h),
                                    offset, offset))
            start += height * width
        return BranchOutputs(priors, logits, distance2bbox(priors[:, :2], distances), levels)

    @staticmethod
    def assign_batch(assigner, outputs: BranchOutputs, batch_gt_instances: InstanceList,
                     batch_gt_instances_ignore: OptInstanceList, batch_img_metas: List[dict],
                     **assign_kwargs) -> List[AssignResult]:
        """Run ``assigner`` on detached predictions of one subnet: on the whole batch at once
        when it can (``assign_images``), else image by image (with the image's ``img_shape``,
        which ``MinCostAssigner`` needs)."""
        preds = [InstanceData(priors=outputs.priors, bboxes=outputs.bboxes[i].detach(),
                              scores=outputs.logits[i].detach().sigmoid())
                 for i in range(len(batch_gt_instances))]
        ignores = (list(batch_gt_instances_ignore) if batch_gt_instances_ignore
                   else [None] * len(preds))
        if hasattr(assigner, 'assign_images'):
            return assigner.assign_images(
                preds, batch_gt_instances, ignores, grid_levels=outputs.levels,
                img_shapes=[meta['img_shape'] for meta in batch_img_metas], **assign_kwargs)
        return [assigner.assign(pred, gt_instances, ignore, img_shape=meta['img_shape'],
                                grid_levels=outputs.levels, **assign_kwargs)
                for pred, gt_instances, ignore, meta in zip(preds, batch_gt_instances, ignores,
                                                            batch_img_metas)]

    def get_targets(self, assign_results: List[AssignResult],
                    batch_gt_instances: InstanceList) -> BranchTargets:
        """Stack per-image assignments into batch targets (see BranchTargets)."""
        labels, weights, positives, gt_bboxes, image_index = [], [], [], [], []
        for i, (result, gt_instances) in enumerate(zip(assign_results, batch_gt_instances)):
            positive = result.gt_inds > 0  # (N,)
            labels.append(torch.where(positive, result.labels, self.num_classes))
            weights.append((result.gt_inds >= 0).float())
            positives.append(positive)
            gt_bboxes.append(gt_instances.bboxes[result.gt_inds[positive] - 1])  # (P_i, 4)
            image_index.append(torch.full_like(result.gt_inds[positive], i))
        return BranchTargets(torch.cat(labels), torch.cat(weights), torch.cat(positives),
                             torch.cat(gt_bboxes).float(), torch.cat(image_index))

    @staticmethod
    def check_finite(losses: dict) -> dict:
        """Raise, naming the term, instead of letting a NaN/inf loss train on silently."""
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(
                    f'{name} is not finite ({value.detach().cpu().tolist()}); lower the learning '
                    f'rate or enable gradient clipping (optim_wrapper.clip_grad)')
        return losses

    # -------------------------------------------------------------------------- inference
    def predict_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                        batch_img_metas: List[dict], cfg: OptConfigType = None,
                        rescale: bool = False, **kwargs) -> InstanceList:
        """End-to-end detections: the top ``max_per_img`` (point, class) scores, no NMS."""
        cfg = self.test_cfg if cfg is None else cfg
        outputs = self.flatten_branch(cls_scores, bbox_preds)
        return [self._predict_single(outputs.logits[i].detach(), outputs.bboxes[i].detach(),
                                     meta, cfg, rescale)
                for i, meta in enumerate(batch_img_metas)]

    def _predict_single(self, logits: Tensor, bboxes: Tensor, img_meta: dict, cfg,
                        rescale: bool) -> InstanceData:
        scores = logits.sigmoid().flatten()  # (N·C,)
        top_scores, top_idx = scores.topk(min(cfg.get('max_per_img', 100), scores.numel()))
        keep = top_scores > cfg.get('score_thr', 0.0)
        top_scores, top_idx = top_scores[keep], top_idx[keep]  # (k,)
        points = top_idx // self.cls_out_channels  # (k,)
        boxes = bboxes[points].clone()  # (k, 4)
        height, width = img_meta['img_shape'][:2]
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        if rescale:
            boxes = scale_boxes(boxes, [1 / s for s in img_meta['scale_factor']])
        results = InstanceData()
        results.bboxes = boxes
        results.scores = top_scores
        results.labels = top_idx % self.cls_out_channels
        return results
