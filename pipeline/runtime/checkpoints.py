"""Loading the pipeline's own mmengine checkpoints under torch >= 2.6's `weights_only=True` default.

A Runner checkpoint holds, besides tensors, the message hub's `HistoryBuffer`s, whose pickles
rebuild bound methods through `getattr`; torch >= 2.6 refuses them (`UnpicklingError: Weights only
load failed ... Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer`), so
mmengine's `resume` and `load_from` fail. Allow-listing `getattr` would open weights-only loading
to arbitrary code, so instead the one place that loads local checkpoints for mmengine
(`CheckpointLoader`'s local scheme) is replaced by a loader that reads checkpoints under folders
this pipeline wrote itself (`trust_checkpoints_under`) with `weights_only=False`, and every other
file with torch's safe default.
"""
from __future__ import annotations

from pathlib import Path

_TRUSTED: set[Path] = set()


def load_from_local_trusted(filename, map_location=None):
    import torch

    path = Path(filename).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{filename} can not be found.")
    own = any(path.resolve().is_relative_to(folder) for folder in _TRUSTED)
    return torch.load(path, map_location=map_location, weights_only=not own)


def trust_checkpoints_under(folder: str | Path) -> None:
    """Load checkpoints below `folder` (a work dir of this pipeline) without the weights-only limit."""
    from mmengine.runner.checkpoint import CheckpointLoader

    _TRUSTED.add(Path(folder).resolve())
    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_trusted, force=True)
