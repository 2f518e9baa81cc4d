"""Single-stage end-to-end detector that states where its backbone weights come from."""
import contextlib
import os
from pathlib import Path
from typing import Optional

from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from mmengine.logging import MMLogger
from torch import Tensor


def backbone_checkpoint(backbone_cfg: dict) -> Optional[str]:
    """The checkpoint a backbone starts from, else None: its own ``checkpoint`` argument (backbones
    that load their weights themselves, e.g. ``MobileNetV2Features``) or a
    ``dict(type='Pretrained', checkpoint=...)`` init; ``~`` and ``$VARS`` expanded."""
    if backbone_cfg.get('checkpoint') is not None:
        return os.path.expandvars(os.path.expanduser(str(backbone_cfg['checkpoint'])))
    init_cfg = backbone_cfg.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        return init_cfg.get('checkpoint')
    return None


@MODELS.register_module()
class EndToEndDetector(SingleStageDetector):
    """mmdet's ``SingleStageDetector`` (backbone → neck(s) → dense head, no NMS in our heads).

    Additions: a backbone with ``prefix_cache`` (``MobileNetV2Features``) is told which sample
    each image of a batch is (:meth:`sample_keys`), in training and prediction; and
    :meth:`init_weights` says in the log whether the backbone starts from a
    local ImageNet checkpoint (``model.backbone.init_cfg = dict(type='Pretrained',
    checkpoint=PATH)``) or from scratch (``init_cfg=None``), and a configured checkpoint that is
    not a local file is an error naming the path and the config key, before mmengine tries to
    load it. Nothing is downloaded: URLs and ``torchvision://`` names are refused.
    """

    def __init__(self, backbone: dict, *args, **kwargs) -> None:
        self.backbone_checkpoint = backbone_checkpoint(backbone)
        self.backbone_checkpoint_key = ('model.backbone.checkpoint' if backbone.get('checkpoint') is not None
                                        else 'model.backbone.init_cfg.checkpoint')
        super().__init__(backbone, *args, **kwargs)

    def init_weights(self) -> None:
        logger = MMLogger.get_current_instance()
        path = self.backbone_checkpoint
        if path is None:
            logger.warning('backbone: no pretrained checkpoint configured '
                           '(model.backbone.init_cfg is not Pretrained, no model.backbone.checkpoint) '
                           '- training from scratch')
        elif not Path(path).is_file():
            raise FileNotFoundError(
                f'backbone checkpoint {path!r} ({self.backbone_checkpoint_key}) is not a '
                f'local file; point it at an ImageNet state dict, or set '
                f'{self.backbone_checkpoint_key.replace(".init_cfg.checkpoint", ".init_cfg")}=None '
                f'to train from scratch (the smoke/tiny weights: scripts/setup_env.sh fetches them)')
        else:
            logger.info(f'backbone: initialised from the ImageNet checkpoint {path}')
        super().init_weights()

    # ------------------------------------------------------------- frozen-prefix feature cache
    @staticmethod
    def sample_keys(batch_inputs: Tensor, batch_data_samples) -> list:
        """One key per image that identifies its input tensor: image file, flip, shapes, and a
        checksum of the preprocessed pixels (so a random photometric transform is never served
        another input's features)."""
        flat = batch_inputs.flatten(1)
        sums, squares = flat.sum(1).tolist(), (flat * flat).sum(1).tolist()
        keys = []
        for sample, total, square in zip(batch_data_samples, sums, squares):
            meta = sample.metainfo
            keys.append((meta.get('img_path'), meta.get('flip'), meta.get('flip_direction'),
                         tuple(meta.get('img_shape', ())), tuple(batch_inputs.shape[1:]), total, square))
        return keys

    @contextlib.contextmanager
    def _keyed(self, batch_inputs: Tensor, batch_data_samples):
        if getattr(self.backbone, 'prefix_cache', False) and batch_data_samples is not None:
            self.backbone.sample_keys = self.sample_keys(batch_inputs, batch_data_samples)
        try:
            yield
        finally:
            if hasattr(self.backbone, 'sample_keys'):
                self.backbone.sample_keys = None

    def loss(self, batch_inputs: Tensor, batch_data_samples):
        with self._keyed(batch_inputs, batch_data_samples):
            return super().loss(batch_inputs, batch_data_samples)

    def predict(self, batch_inputs: Tensor, batch_data_samples, rescale: bool = True):
        with self._keyed(batch_inputs, batch_data_samples):
            return super().predict(batch_inputs, batch_data_samples, rescale=rescale)
