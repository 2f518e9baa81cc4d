"""Figures as PNG (matplotlib, no display): Figure 4's convergence curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .claims import first_epoch_reaching, flatten_epoch  # noqa: E402  (one definition, used by the claims too)

LABELS = {"baseline": "baseline (OneNet)", "dsla_fs": "DSLA + FS", "dsla": "DSLA", "fs": "FS"}
COLOURS = {"baseline": "tab:blue", "dsla_fs": "tab:red", "dsla": "tab:orange", "fs": "tab:green"}


def plot_figure4(panels: dict[str, dict[str, list[tuple[int, float]]]], path: Path, title: str,
                 order: list[str] = (), lr_drop: int | None = None) -> Path:
    """One panel per dataset (`order` first), AP (%) per epoch per variant (seed means). Marked,
    as the claims measure convergence: the baseline's final AP (dashed) and the first epoch each
    other curve reaches it (circle); each curve's flatten epoch where it has one (square, the
    paper's reading); the first learning-rate drop (grey)."""
    datasets = [d for d in order if d in panels] + [d for d in panels if d not in order]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        curves = panels[dataset]
        baseline = curves.get("baseline") or []
        target = baseline[-1][1] if baseline else None
        if target is not None:
            ax.axhline(100 * target, color=COLOURS["baseline"], linestyle="--", linewidth=1)
        if lr_drop:
            ax.axvline(lr_drop + 0.5, color="grey", linewidth=1, alpha=0.6)
            ax.annotate("lr x0.1", (lr_drop + 0.5, ax.get_ylim()[0]), fontsize=7, color="grey",
                        xytext=(2, 2), textcoords="offset points")
        for variant, curve in curves.items():
            if not curve:
                continue
            epochs, aps = zip(*curve)
            colour = COLOURS.get(variant)
            ax.plot(epochs, [100 * a for a in aps], marker=".", color=colour, label=LABELS.get(variant, variant))
            flat = flatten_epoch(curve)
            if flat is not None:
                ax.plot([flat], [100 * dict(curve)[flat]], marker="s", markersize=8, markerfacecolor="none",
                        color=colour)
            if variant != "baseline" and target is not None:
                reached = first_epoch_reaching(curve, target)
                if reached is not None:
                    ap = dict(curve)[reached]
                    ax.plot([reached], [100 * ap], marker="o", markersize=9, markerfacecolor="none", color=colour)
                    ax.annotate(f"baseline's final AP at epoch {reached}", (reached, 100 * ap),
                                textcoords="offset points", xytext=(4, -12), color=colour, fontsize=8)
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
