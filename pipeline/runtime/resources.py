"""CPU threads per stage: with `--jobs N`, each worker gets its share of the cores.

torch uses every core in every process by default; two training processes on two cores then
oversubscribe the CPU (OpenMP threads spin against each other) and each runs several times
slower than alone. The CLI sets `threads = max(1, cores // jobs)`.
"""
from __future__ import annotations

from typing import Mapping


def limit_threads(settings: Mapping) -> None:
    threads = settings.get("threads")
    if threads:
        import torch
        torch.set_num_threads(int(threads))
