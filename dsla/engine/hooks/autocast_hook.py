"""``AutocastHook``: an opt-in bf16 autocast of the network's forward (issue 24). Off unless configured.

Config (training only; validation stays fp32, so AP measures what bf16 training did)::

    custom_imports = dict(imports=['dsla', 'dsla.engine.hooks.autocast_hook'], allow_failed_imports=False)
    custom_hooks = [dict(type='SoftLabelScheduleHook'),   # the DSLA variants' own hook
                    dict(type='AutocastHook', dtype='bf16', phases=['train'])]

This module is not imported by ``dsla.engine.hooks`` (hence the ``custom_imports`` line): the
pipeline's cache keys hash the sources the configs' registered types import, so the opt-in
leaves the keys of every existing run as they were.

The backbone, neck and head convolutions run under ``torch.autocast('cpu', dtype)`` (autograd then
runs their backward in the same precision); the head's outputs are cast back to fp32 before
assignment, losses and decoding, so those run as without it. It changes the numbers:
reports/benchmarks.md §11d measures the speed-up and the AP over 3 seeds, paired. A hook rather
than a detector argument, so the default configs and their cache keys stay as they were.

Frozen-prefix cache (``MobileNetV2Features(prefix_cache=True)``): features computed under
autocast are another function of the image, so their cache keys carry the dtype and never serve
an fp32 forward (nor the reverse).
"""
from __future__ import annotations

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor

DTYPES = {'bf16': torch.bfloat16}
PHASES = ('train', 'predict')


def check_options(dtype: str, phases) -> tuple:
    """``phases`` as a tuple; a ValueError naming both when ``dtype`` or a phase is unknown."""
    phases = tuple(phases)
    if dtype not in DTYPES or not set(phases) <= set(PHASES):
        raise ValueError(f'AutocastHook: dtype must be one of {sorted(DTYPES)} and phases a '
                         f'subset of {PHASES}, got dtype={dtype!r}, phases={phases!r}')
    return phases


def to_float(value):
    """``value`` (a tensor, or lists / tuples of them) with every bf16 / fp16 tensor cast to fp32."""
    if isinstance(value, Tensor):
        return value.float() if value.dtype in (torch.bfloat16, torch.float16) else value
    if isinstance(value, (list, tuple)):
        return type(value)(to_float(item) for item in value)
    return value


class Autocast:
    """Installed on a single-stage detector (``extract_feat`` and ``bbox_head.forward`` wrapped):
    autocast to ``dtype`` in the listed ``phases`` ('train': ``model.training``, 'predict': eval).
    ``phases`` may be changed afterwards (benchmarks switch it per step)."""

    def __init__(self, model, dtype: str = 'bf16', phases=('train',)):
        phases = check_options(dtype, phases)
        self.model, self.dtype, self.phases = model, DTYPES[dtype], phases
        extract, head = model.extract_feat, model.bbox_head
        head_forward = head.forward

        def extract_feat(batch_inputs):
            if not self.active():
                return extract(batch_inputs)
            backbone = model.backbone
            keys = getattr(backbone, 'sample_keys', None)
            if keys is not None:
                backbone.sample_keys = [key + ('autocast', str(self.dtype)) for key in keys]
            with torch.autocast('cpu', dtype=self.dtype):
                return extract(batch_inputs)

        def forward(*args, **kwargs):
            if not self.active():
                return head_forward(*args, **kwargs)
            with torch.autocast('cpu', dtype=self.dtype):
                return to_float(head_forward(*args, **kwargs))
        model.extract_feat = extract_feat
        head.forward = forward

    def active(self) -> bool:
        return ('train' if self.model.training else 'predict') in self.phases


@HOOKS.register_module()
class AutocastHook(Hook):
    """Installs :class:`Autocast` on the runner's model before the run (see the module docstring)."""

    priority = 'NORMAL'

    def __init__(self, dtype: str = 'bf16', phases=('train',)) -> None:
        self.dtype, self.phases = dtype, check_options(dtype, phases)

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not isinstance(getattr(model, 'autocast', None), Autocast):
            model.autocast = Autocast(model, self.dtype, self.phases)
