"""Single-stage end-to-end detector that states where its backbone weights come from."""
from pathlib import Path
from typing import Optional

from mmdet.models.detectors import SingleStageDetector
from mmdet.registry import MODELS
from mmengine.logging import MMLogger


def backbone_checkpoint(backbone_cfg: dict) -> Optional[str]:
    """The checkpoint of a ``dict(type='Pretrained', checkpoint=...)`` backbone init, else None."""
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
        super().__init__(backbone, *args, **kwargs)

    def init_weights(self) -> None:
        logger = MMLogger.get_current_instance()
        path = self.backbone_checkpoint
        if path is None:
            logger.warning('backbone: no pretrained checkpoint configured '
                           '(model.backbone.init_cfg is not Pretrained) - training from scratch')
        elif not Path(path).is_file():
            raise FileNotFoundError(
                f'backbone checkpoint {path!r} (model.backbone.init_cfg.checkpoint) is not a '
                f'local file; point it at an ImageNet state dict, or set '
                f'model.backbone.init_cfg=None to train from scratch')
        else:
            logger.info(f'backbone: initialised from the ImageNet checkpoint {path}')
        super().init_weights()
