"""The sweeps' pruners, as JSON specs: the runner and the training hook (`OptunaPruningHook`, maybe
in another process) build the same pruner from the same spec."""
from __future__ import annotations

PRUNERS = ("median", "hyperband", "none")


def pruner_spec(name: str | None, max_epochs: int) -> dict | None:
    """The spec of `--pruner name` for trials of `max_epochs` epochs (None: no pruning).

    median: prune a trial whose AP after an epoch is below the median of earlier trials after that
    epoch, once 2 trials have finished, from its first epoch on (steps are epochs, counted from 1).
    hyperband: successive halving from 1 epoch up to the full schedule, keeping a third at each
    rung (reduction factor 3).
    """
    if name == "median":
        return {"type": "MedianPruner", "n_startup_trials": 2, "n_warmup_steps": 0}
    if name == "hyperband":
        return {"type": "HyperbandPruner", "min_resource": 1, "max_resource": max_epochs, "reduction_factor": 3}
    if name in (None, "none"):
        return None
    raise ValueError(f"unknown pruner {name!r}; expected one of {PRUNERS}")


def build_pruner(spec: dict | None):
    """An `optuna.pruners` instance from a spec, e.g. `{"type": "MedianPruner", "n_warmup_steps": 1}`;
    `None` is `NopPruner`."""
    import optuna

    if spec is None:
        return optuna.pruners.NopPruner()
    kwargs = dict(spec)
    name = kwargs.pop("type", None)
    pruner_class = getattr(optuna.pruners, str(name), None)
    if not (isinstance(pruner_class, type) and issubclass(pruner_class, optuna.pruners.BasePruner)):
        raise ValueError(f"pruner spec {spec!r}: type must name a class of optuna.pruners, e.g. 'MedianPruner'")
    return pruner_class(**kwargs)
