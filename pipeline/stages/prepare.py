"""Stage `prepare`: make a dataset available and measure its instance density (Table 1).

smoke / tiny: draw the synthetic preset with `dsla.datasets.synthetic.generate_dataset` (itself
cached by its parameters) into `data/<profile>/<preset>/`; paper: check the real dataset's layout
under `--data-root`. Either way the densities come from `dsla.datasets.density` on the training
annotations, the split the paper's Table 1 counts.

Every split training and evaluation will read is validated here, not only the one Table 1
counts: each annotation file is parsed (file:line errors) and every image it lists must exist.
The result records a fingerprint of the content (`pipeline.digest.data_fingerprint`: annotation
bytes, image names and sizes); `check_prepared` (the stage's result check) recomputes it, so a
prepared dataset damaged or edited since (an image deleted, an annotation changed, the folder
gone) is prepared again — the synthetic generator redraws it, real data gets a one-line error
naming the missing file — never half-trusted. For real data the fingerprint is also part of the
key (`pipeline.graph`), so changed data retrains exactly what it feeds.
"""
from __future__ import annotations

import os
from pathlib import Path

from .. import profiles
from ..digest import content_digest
from ..digest import data_fingerprint as fingerprint_of
from .contracts import Prepared


def check_split(root: Path, ann: str, image_folder: str) -> None:
    """Parse one split's annotation file (file:line errors) and require every image it lists."""
    path = root / ann
    if path.suffix == ".odgt":
        from dsla.datasets.odgt import load_odgt_lines
        listed = [(f"{path}:{line}", record["ID"] + ".jpg") for line, record in load_odgt_lines(path)]
    else:
        from dsla.datasets.coco_format import load_coco
        listed = [(f"{path} images[{i}]", image["file_name"]) for i, image in enumerate(load_coco(path)["images"])]
    folder = root / image_folder
    present = {entry.name for entry in os.scandir(folder)} if folder.is_dir() else set()
    for where, name in listed:
        if Path(name).name not in present and not (folder / name).is_file():
            raise FileNotFoundError(f"{where}: image {folder / name} does not exist")


def check_prepared(result: dict) -> str | None:
    """Why a recorded prepare can no longer be used (its data changed or is damaged), if so."""
    if "fingerprint" not in result:
        return "prepared before data fingerprints were recorded"
    root = Path(result["data_root"])
    now = fingerprint_of(root, result["annotations"], result["images"])
    if now != result["fingerprint"]:
        missing = [rel for rel in [*result["annotations"], *result["images"]] if not (root / rel).exists()]
        detail = f"missing: {', '.join(missing)}" if missing else "annotations or images changed"
        return f"prepared data at {root} changed since it was prepared ({detail})"
    return None


def prepare(ctx, *, profile: str, dataset: str, data_root: str | None, synthetic: dict | None,
            curve_images: int | None = None, data_fingerprint: str | None = None) -> Prepared:
    """`data_fingerprint` (real data only) is there for the key: the content the graph saw."""
    from dsla.datasets.density import file_density

    if synthetic is not None:
        from dsla.datasets.synthetic import generate_dataset
        root = Path(generate_dataset(Path(data_root), preset=profiles.PRESET[dataset], **synthetic))
        train_ann, val_ann = profiles.SYNTHETIC_ANNOTATIONS[dataset]
        images = profiles.SYNTHETIC_IMAGES[dataset]
    else:
        root = profiles.real_data_folder(data_root, dataset)
        train_ann, val_ann = profiles.REAL_ANNOTATIONS[dataset]
        images = profiles.REAL_IMAGES[dataset]
    for ann, folder in zip((train_ann, val_ann), images):
        check_split(root, ann, folder)
    density = file_density(root / train_ann)
    # the validation images Figure 4's per-epoch curves use (all of them when not set)
    curve_ann = profiles.write_curve_subset(root, val_ann, curve_images) if curve_images else val_ann
    annotations = [train_ann, val_ann, *([curve_ann] if curve_ann not in (train_ann, val_ann) else [])]
    return Prepared(data_root=str(root.resolve()) + "/", train_ann=train_ann, val_ann=val_ann, curve_ann=curve_ann,
                    density=density, annotations=[train_ann, val_ann], images=list(images),
                    fingerprint=fingerprint_of(root, [train_ann, val_ann], list(images)),
                    content=content_digest(root, annotations, list(images)),
                    description=profiles.describe_data(dataset, synthetic, str(root)))
