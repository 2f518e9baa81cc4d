"""dsla.engine: training hooks, and weights-only checkpoint loading for every mmengine reader.

Importing it (``import dsla``, or a config's ``custom_imports``) registers the hooks and makes
mmengine's local checkpoint loader (``resume``, ``load_from``, ``init_detector``) load through
:func:`dsla.engine.safe_checkpoint.load_checkpoint_file` (``weights_only=True``).
"""
from . import hooks  # noqa: F401  (registration)
from .safe_checkpoint import use_weights_only_loading

use_weights_only_loading()
