"""Figures as PNG (matplotlib, no display): Figure 4's convergence curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .claims import convergence_epoch  # noqa: E402  (one definition, used by the claims too)

LABELS = {"baseline": "baseline (OneNet)", "dsla_fs": "DSLA + FS", "dsla": "DSLA", "fs": "FS"}
COLOURS = {"baseline": "tab:blue", "dsla_fs": "tab:red", "dsla": "tab:orange", "fs": "tab:green"}


def plot_figure4(panels: dict[str, dict[str, list[tuple[int, float]]]], path: Path, title: str,
                 order: list[str] = ()) -> Path:
    """One panel per dataset (`order` first), AP (%) per epoch per variant, convergence epochs marked."""
    datasets = [d for d in order if d in panels] + [d for d in panels if d not in order]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        curves = panels[dataset]
        for variant, curve in curves.items():
            if not curve:
                continue
            epochs, aps = zip(*curve)
            colour = COLOURS.get(variant)
            ax.plot(epochs, [100 * a for a in aps], marker=".", color=colour, label=LABELS.get(variant, variant))
            converged = convergence_epoch(curve)
            ap = dict(curve)[converged]
            ax.axvline(converged, color=colour, linestyle=":", linewidth=1)
            ax.plot([converged], [100 * ap], marker="o", markersize=9, markerfacecolor="none", color=colour)
            ax.annotate(f"epoch {converged}", (converged, 100 * ap), textcoords="offset points",
                        xytext=(4, -12), color=colour, fontsize=8)
        ax.set_title(dataset)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("AP (%)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
