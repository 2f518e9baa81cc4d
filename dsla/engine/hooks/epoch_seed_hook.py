"""Re-seed python, numpy and torch at the start of every training epoch, from (seed, epoch) only.

mmengine seeds the global generators once, when the Runner is built. A run resumed from the
checkpoint of epoch e therefore starts epoch e + 1 with the generators as they were *before epoch 1*
(re-seeded), not as an uninterrupted run leaves them after e epochs of random flips and Feature
Shuffle permutations — so a killed and resumed training would end with other weights than an
uninterrupted one. With this hook the randomness of epoch e depends on the run's seed and e alone,
so both end with the same weights and metrics (on CPU, where the kernels are deterministic).
The per-epoch seed is `SeedSequence([seed, epoch])`, so seed s at epoch e + 1 does not replay
seed s + 1 at epoch e.
"""
from __future__ import annotations

import numpy as np
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner.utils import set_random_seed


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed every generator before each training epoch from the runner's seed and that epoch."""

    priority = "VERY_HIGH"  # before any hook or the dataloader draws a random number

    def before_train_epoch(self, runner) -> None:
        epoch_seed = int(np.random.SeedSequence([runner.seed, runner.epoch]).generate_state(1)[0])
        set_random_seed(epoch_seed)  # the same on every rank, as the pipeline's randomness config
