"""Loading mmengine checkpoints with ``torch.load(weights_only=True)``: no pickle code ever runs.

A checkpoint is a pickle, and ``weights_only=False`` executes whatever callable its pickle names
(``os.system`` included). torch's weights-only unpickler only builds tensors, containers and
globals on an allow-list. A Runner checkpoint needs, besides tensors, the message hub's
``HistoryBuffer``s with their numpy arrays and scalars, which this module allow-lists (for the
duration of one load, not process-wide). One entry needs care: ``HistoryBuffer.__getstate__``
pickles its statistics methods (``HistoryBuffer.min`` ...), and pickle protocol 2 stores a nested
function as ``getattr(HistoryBuffer, "min")``. Allow-listing ``builtins.getattr`` itself would
reopen the door (``getattr`` reaches ``__globals__`` and from there anything), so the name
``builtins.getattr`` is mapped to :func:`_history_buffer_method`, which returns only
``HistoryBuffer``'s own statistics methods and refuses everything else.

:func:`load_checkpoint_file` is the one reader of checkpoint files in this project (``deploy``,
mmengine's ``resume``/``load_from`` through :func:`use_weights_only_loading`, evaluation).
"""
from __future__ import annotations

from pathlib import Path

HISTORY_BUFFER_METHODS = ("min", "max", "current", "mean")


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint whose pickle names something outside the weights-only allow-list."""


def _history_buffer_method(owner, name):
    """Stand-in for ``builtins.getattr`` inside checkpoints: only ``HistoryBuffer.<statistic>``."""
    from mmengine.logging import HistoryBuffer

    if owner is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(f"checkpoint asks for getattr({owner!r}, {name!r}), which is not "
                                "one of HistoryBuffer's statistics methods; refused")


def allowed_globals() -> list:
    """What an mmengine Runner checkpoint may name besides torch's own weights-only globals."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    dtypes = [type(np.dtype(t)) for t in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2",
                                         "u4", "u8", "?", "c8", "c16")]
    return [HistoryBuffer, (_history_buffer_method, "builtins.getattr"),
            np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, *dtypes]


def load_checkpoint_file(filename, map_location=None):
    """``torch.load`` of ``filename`` with ``weights_only=True`` and :func:`allowed_globals`.

    Raises FileNotFoundError for a missing file and :class:`UnsafeCheckpointError` (one line,
    naming the file and the refused global) for a pickle that asks for anything else.
    """
    import pickle

    import torch

    path = Path(filename).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{filename} can not be found.")
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, UnsafeCheckpointError) as error:
        # torch's message is a paragraph; its one informative line names the refused global
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = next((line for line in lines if "GLOBAL" in line or "global" in line
                       or "getattr(" in line), lines[-1] if lines else type(error).__name__)
        raise UnsafeCheckpointError(f"{path}: refused to load as weights only (code in a "
                                    f"checkpoint is never run): {detail}") from None


def use_weights_only_loading() -> None:
    """Make mmengine's local-file checkpoint loader (``resume``, ``load_from``,
    ``load_checkpoint``) read through :func:`load_checkpoint_file`."""
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", loader=load_checkpoint_file, force=True)
