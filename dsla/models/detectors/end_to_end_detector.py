"""Single-stage end-to-end detector that states where its backbone weights come from."""
import os
from pathlib import Path
from typing import Optional

from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from mmengine.logging import MMLogger


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

    The only addition: :meth:`init_weights` says in the log whether the backbone starts from a
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
