"""Stage `prepare`: make a dataset available and measure its instance density (Table 1).

smoke / tiny: draw the synthetic preset with `dsla.datasets.synthetic.generate_dataset` (itself
cached by its parameters) into `data/<profile>/<preset>/`; paper: check the real dataset's layout
under `--data-root`. Either way the densities come from `dsla.datasets.density` on the training
annotations, the split the paper's Table 1 counts.
"""
from __future__ import annotations

from pathlib import Path

from .. import profiles


def prepare(ctx, *, profile: str, dataset: str, data_root: str | None, synthetic: dict | None,
            code_digest: str, curve_images: int | None = None) -> dict:
    from dsla.datasets.density import file_density

    if synthetic is not None:
        from dsla.datasets.synthetic import generate_dataset
        root = Path(generate_dataset(Path(data_root), preset=profiles.PRESET[dataset], **synthetic))
        train_ann, val_ann = profiles.SYNTHETIC_ANNOTATIONS[dataset]
    else:
        root = profiles.real_data_folder(data_root, dataset)
        train_ann, val_ann = profiles.REAL_ANNOTATIONS[dataset]
    density = file_density(root / train_ann)
    if ctx.run_id:
        ctx.tracker.log_metrics(ctx.run_id, {k: v for k, v in density.items() if isinstance(v, (int, float))})
    # the validation images Figure 4's per-epoch curves use (all of them when not set)
    curve_ann = profiles.write_curve_subset(root, val_ann, curve_images) if curve_images else val_ann
    return {"data_root": str(root.resolve()) + "/", "train_ann": train_ann, "val_ann": val_ann, "curve_ann": curve_ann,
            "density": density, "run_id": ctx.run_id,
            "description": profiles.describe_data(dataset, synthetic, str(root))}
