"""Feature Shuffle (paper §3.5): neighbouring FPN levels exchange channels after FPN."""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class FeatureShuffle(BaseModule):
    """Level i exchanges S channels with level i−1 and S with level i+1, bilinearly resized.

    Channel layout of every level (C channels): ``[0, C−2S)`` stay; block ``[C−2S, C−S)`` is
    sent up to level i+1 and block ``[C−S, C)`` down to level i−1. Level i's output is

        ``[ own[0:C−2S] | level i−1's up-block | level i+1's down-block ]``

    each received block resized to level i's size by bilinear interpolation. This is DDQ FCN's
    channel shuffle (the paper's description matches it; DDQ keeps C − 2·64 of 256 channels,
    so the default S is 64 for C = 256, i.e. a quarter of the channels), moved after FPN as the
    paper does. Edge levels have one neighbour: the first level keeps its own up-block in the
    slot level −1 would fill, the last level keeps its own down-block (DDQ also falls back to the
    level itself there). No parameters; the cost is two resizes per level.

    Args:
        shuffle_channels: S, channels received from each neighbour; 0 makes the neck identity.
        in_channels: C of every level, only to check S (``2·S <= C``) at build time; None skips
            the build-time check (it is then made on the first forward).
    """

    def __init__(self, shuffle_channels: int = 64, in_channels: int = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(shuffle_channels, int) or shuffle_channels < 0:
            raise ValueError(f'FeatureShuffle: shuffle_channels (S) must be an int >= 0, got '
                             f'{shuffle_channels!r}')
        if in_channels is not None:
            self._check_channels(in_channels, shuffle_channels)
        self.shuffle_channels = shuffle_channels

    @staticmethod
    def _check_channels(channels: int, shuffle_channels: int) -> None:
        if 2 * shuffle_channels > channels:
            raise ValueError(f'FeatureShuffle: shuffle_channels (S) = {shuffle_channels} needs '
                             f'2·S <= channels per level, but levels have {channels} channels')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Args: inputs, L levels of (B, C, H_l, W_l). Returns: L levels of the same shapes."""
        s = self.shuffle_channels
        if s == 0 or len(inputs) < 2:
            return tuple(inputs)
        channels = inputs[0].size(1)
        self._check_channels(channels, s)
        keep = channels - 2 * s
        up_blocks = [x[:, keep:keep + s] for x in inputs]  # (B, S, H_l, W_l), sent to l+1
        down_blocks = [x[:, keep + s:] for x in inputs]  # (B, S, H_l, W_l), sent to l−1
        outputs = []
        last = len(inputs) - 1
        for level, x in enumerate(inputs):
            size = x.shape[-2:]
            from_below = up_blocks[level] if level == 0 else self._resize(up_blocks[level - 1], size)
            from_above = (down_blocks[level] if level == last
                          else self._resize(down_blocks[level + 1], size))
            outputs.append(torch.cat([x[:, :keep], from_below, from_above], dim=1))  # (B,C,H,W)
        return tuple(outputs)

    @staticmethod
    def _resize(x: Tensor, size) -> Tensor:
        return F.interpolate(x, size=size, mode='bilinear', align_corners=False)
