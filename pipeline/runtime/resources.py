"""The torch threads a stage computes with: fixed by what the stage is, never by how it is run.

The number of threads changes the order of torch's float reductions, hence the last digits of
every loss, and through training the numbers themselves (the smoke baseline's AP was 0.1344 with
one thread, 0.1127 with two, under one key). So the count is not derived from `--jobs` or from the
machine's cores: a training or evaluation of every profile runs on `THREADS` threads, in process
and in a launched worker alike. This module is part of the train and evaluate keys: changing the
count re-runs them. Several stages at once (`--jobs N`) then use N threads in all, which on a CPU
profile (one job per core by default) keeps the cores busy without oversubscribing them.
"""
from __future__ import annotations

THREADS = 1  # torch intra-op threads of every training and evaluation, whatever the profile


def compute_threads(profile: str | None = None) -> int:
    """The torch threads a stage of `profile` computes with (the same for every profile today)."""
    return THREADS


def limit_threads(profile: str | None = None) -> None:
    """Sets torch's intra-op threads to `compute_threads(profile)`."""
    import torch
    torch.set_num_threads(compute_threads(profile))
