"""Stage `figure`: Figure 4, validation AP per epoch of the baseline and DSLA (+FS) runs.

Inputs are train results named `<dataset>/<variant>@seed<s>`; with several seeds the curves are
averaged epoch by epoch. The plot marks what the convergence claims measure
(`pipeline.report.claims`): the first epoch each curve reaches the baseline's final AP, each
curve's flatten epoch, and the first learning-rate drop.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from experiments import tables as defs

from .contracts import Figured, Trained


def curves_per_seed(inputs: dict[str, Trained]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """`{"<dataset>/<variant>": {seed: [(epoch, AP), ...]}}`: every seed's own curve (for the claims)."""
    per_seed: dict[str, dict[str, list]] = defaultdict(dict)
    for name, result in sorted(inputs.items()):
        run, _, seed = name.partition("@seed")
        per_seed[run][seed] = [(record["epoch"], record["AP"]) for record in result.epochs if "AP" in record]
    return dict(per_seed)


def curves_from(inputs: dict[str, Trained]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """`{dataset: {variant: [(epoch, mean AP), ...]}}` from the train results."""
    per_epoch: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for name, result in sorted(inputs.items()):
        dataset, variant = name.split("@")[0].split("/")
        for record in result.epochs:
            if "AP" in record:
                per_epoch[(dataset, variant)][record["epoch"]].append(record["AP"])
    panels: dict[str, dict[str, list]] = defaultdict(dict)
    for (dataset, variant), by_epoch in sorted(per_epoch.items()):
        panels[dataset][variant] = [(e, statistics.fmean(aps)) for e, aps in sorted(by_epoch.items())]
    return dict(panels)


def first_lr_drop(inputs: dict[str, Trained]) -> int | None:
    """The last epoch before the first step of the training schedule's learning rate (the first
    milestone of an epoch-based MultiStepLR in the trainings' configs; the same for every run of a
    profile), or None without one. The claims compare the curves up to it."""
    from mmengine.config import Config

    drops = set()
    for result in inputs.values():
        schedulers = Config.fromfile(result.config).get("param_scheduler") or []
        for scheduler in schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]:
            if scheduler.get("type") == "MultiStepLR" and scheduler.get("by_epoch", True) and scheduler.get("milestones"):
                drops.add(min(scheduler["milestones"]))
    return min(drops) if drops else None


def figure4(ctx, *, profile: str, figure: str, dataset: str, **inputs: Trained) -> Figured:
    from ..report.claims import first_epoch_reaching, flatten_epoch
    from ..report.plots import plot_figure4

    spec = defs.FIGURE4
    panels = curves_from(inputs)
    lr_drop = first_lr_drop(inputs)
    png = plot_figure4(panels, Path(ctx.work_dir) / f"{figure}.png", f"{spec.title} — profile {profile}",
                       order=[dataset for dataset, _ in spec.panels], lr_drop=lr_drop)
    # on the seed-mean curves: where each flattens (the paper's reading) and where each first reaches
    # the baseline's final AP (the claims decide on the per-seed values)
    convergence = {f"{d}/{v}": flatten_epoch(curve) for d, curves in panels.items() for v, curve in curves.items()}
    reaches = {f"{d}/{v}": first_epoch_reaching(curve, curves["baseline"][-1][1])
               for d, curves in panels.items() if curves.get("baseline") for v, curve in curves.items()}
    return Figured(figure=figure, panels=panels, convergence=convergence, reaches_baseline_final=reaches,
                   caption=spec.caption, per_seed=curves_per_seed(inputs), lr_drop=lr_drop, png=str(png))
