"""Stage `figure`: Figure 4, validation AP per epoch of the baseline and DSLA (+FS) runs.

Inputs are train results named `<dataset>/<variant>@seed<s>`; with several seeds the curves are
averaged epoch by epoch. Each curve's convergence epoch is the first epoch within 95% of its
final AP (`pipeline.report.plots.convergence_epoch`).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from experiments import tables as defs

from ..engine.results import StageResult


def curves_per_seed(inputs: dict[str, dict]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """`{"<dataset>/<variant>": {seed: [(epoch, AP), ...]}}`: every seed's own curve (for the claims)."""
    per_seed: dict[str, dict[str, list]] = defaultdict(dict)
    for name, result in inputs.items():
        run, _, seed = name.partition("@seed")
        per_seed[run][seed] = [(record["epoch"], record["AP"]) for record in result["epochs"] if "AP" in record]
    return dict(per_seed)


def curves_from(inputs: dict[str, dict]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """`{dataset: {variant: [(epoch, mean AP), ...]}}` from the train results."""
    per_epoch: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for name, result in inputs.items():
        dataset, variant = name.split("@")[0].split("/")
        for record in result["epochs"]:
            if "AP" in record:
                per_epoch[(dataset, variant)][record["epoch"]].append(record["AP"])
    panels: dict[str, dict[str, list]] = defaultdict(dict)
    for (dataset, variant), by_epoch in sorted(per_epoch.items()):
        panels[dataset][variant] = [(e, statistics.fmean(aps)) for e, aps in sorted(by_epoch.items())]
    return dict(panels)


def figure4(ctx, *, profile: str, figure: str, dataset: str, **inputs) -> StageResult:
    from ..report.plots import convergence_epoch, plot_figure4

    spec = defs.FIGURE4
    panels = curves_from(inputs)
    png = plot_figure4(panels, Path(ctx.work_dir) / f"{figure}.png", f"{spec.title} — profile {profile}",
                       order=[dataset for dataset, _ in spec.panels])
    convergence = {f"{d}/{v}": convergence_epoch(curve) for d, curves in panels.items() for v, curve in curves.items()}
    return StageResult(
        {"figure": figure, "panels": panels, "convergence": convergence, "caption": spec.caption,
         "per_seed": curves_per_seed(inputs), "run_id": ctx.run_id,
         # the training runs behind each curve (the report links their val/AP overlaid in MLflow)
         "train_run_ids": {name: result.get("run_id") for name, result in inputs.items() if result.get("run_id")}},
        metrics={f"convergence_epoch/{k}": v for k, v in convergence.items() if v}, artifacts={"figure": [str(png)]})
