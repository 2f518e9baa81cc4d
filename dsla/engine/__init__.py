"""dsla.engine: training hooks."""
from . import hooks  # noqa: F401  (registration)
