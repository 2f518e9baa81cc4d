"""Stage `qualitative`: pictures for the report, like the paper's Figures 5–7.

- `detections_<n>.png`: validation images, the baseline's detections (left) beside DSLA + FS's
  (right), ground-truth full-body boxes in thin cyan, detections scoring at least
  `SCORE_THRESHOLD` in red; the most crowded validation images are shown.
- `feature_shuffle.png`: the DSLA + FS model's FPN outputs before and after Feature Shuffle on one
  validation image, as heat maps of the mean absolute activation over channels, per level.
"""
from __future__ import annotations

from pathlib import Path

from ..runtime.console import console_to
from .contracts import Evaluated, Pictured, Prepared, Trained

SCORE_THRESHOLD = 0.3
NUM_IMAGES = 3


def _crowded_ids(gt_records: list[dict], count: int) -> list[str]:
    return [r["ID"] for r in sorted(gt_records, key=lambda r: -len(r["gtboxes"]))[:count]]


def detection_panels(gt_odgt: Path, images: Path, detections: dict[str, Path], out_dir: Path) -> list[Path]:
    """One PNG per crowded validation image, a panel per entry of `detections` (label -> .odgt)."""
    from PIL import Image, ImageDraw

    from dsla.datasets.odgt import load_odgt
    from dsla.evaluation.detections import load_detections

    gt = {r["ID"]: r for r in load_odgt(gt_odgt)}
    loaded = {label: load_detections(path) for label, path in detections.items()}
    paths = []
    for n, image_id in enumerate(_crowded_ids(list(gt.values()), NUM_IMAGES)):
        with Image.open(images / f"{image_id}.jpg") as image:
            base = image.convert("RGB")
        scale = max(1, 512 // max(base.size))
        panels = []
        for label, by_id in loaded.items():
            panel = base.resize((base.width * scale, base.height * scale), Image.NEAREST)
            draw = ImageDraw.Draw(panel)
            for box in gt[image_id]["gtboxes"]:
                x, y, w, h = (v * scale for v in box["fbox"])
                draw.rectangle((x, y, x + w, y + h), outline=(0, 200, 255), width=1)
            found = by_id.get(image_id)
            kept = 0
            if found is not None:
                for (x1, y1, x2, y2), score in zip(found.boxes.tolist(), found.scores.tolist()):
                    if score >= SCORE_THRESHOLD:
                        kept += 1
                        draw.rectangle((x1 * scale, y1 * scale, x2 * scale, y2 * scale), outline=(255, 30, 30), width=2)
            draw.rectangle((0, 0, panel.width, 14), fill=(0, 0, 0))
            draw.text((3, 1), f"{label}: {kept} detections >= {SCORE_THRESHOLD}, {len(gt[image_id]['gtboxes'])} people",
                      fill=(255, 255, 255))
            panels.append(panel)
        sheet = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), panels[0].height), "white")
        x = 0
        for panel in panels:
            sheet.paste(panel, (x, 0))
            x += panel.width + 8
        paths.append(out_dir / f"detections_{n}.png")
        sheet.save(paths[-1])
    return paths


def feature_maps(config: str, checkpoint: str, image: Path) -> tuple[list, list]:
    """FPN outputs of the FS model before and after its FeatureShuffle neck, per level (C, H, W)."""
    import torch
    from mmcv.transforms import Compose
    from mmdet.apis import init_detector

    from dsla.engine.safe_checkpoint import use_weights_only_loading

    use_weights_only_loading()
    model = init_detector(config, checkpoint, device="cpu")
    fpn, shuffle = model.neck[0], model.neck[1]
    steps = [t for t in model.cfg.test_dataloader.dataset.pipeline if t["type"] != "LoadAnnotations"]
    data = Compose(steps)(dict(img_path=str(image), img_id=0))
    batch = model.data_preprocessor({"inputs": [data["inputs"]], "data_samples": [data["data_samples"]]}, False)
    with torch.no_grad():
        before = fpn(model.backbone(batch["inputs"]))
        after = shuffle(before)
    return [b[0] for b in before], [a[0] for a in after]


def plot_feature_maps(before: list, after: list, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = len(before)
    fig, axes = plt.subplots(2, levels, figsize=(3 * levels, 6), squeeze=False)
    for level in range(levels):
        heats = [maps[level].abs().mean(0).numpy() for maps in (before, after)]
        top = max(float(h.max()) for h in heats)  # one colour scale per level: before and after compare
        for row, (name, heat) in enumerate(zip(("before FS", "after FS"), heats)):
            ax = axes[row][level]
            ax.imshow(heat, cmap="inferno", vmin=0, vmax=top)
            ax.set_title(f"P{level + 3} {name}", fontsize=9)
            ax.axis("off")
    fig.suptitle("Mean |activation| over channels, FPN outputs before and after Feature Shuffle "
                 "(one colour scale per level)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def qualitative(ctx, *, profile: str, dataset: str, baseline: Evaluated, dsla: Evaluated, dsla_trained: Trained,
                prepared: Prepared) -> Pictured:
    from dsla.datasets.odgt import load_odgt

    out_dir = Path(ctx.work_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(prepared.data_root)
    gt = root / prepared.val_ann
    files = detection_panels(gt, root / "Images", {"baseline": Path(baseline.detections),
                                                  "DSLA + FS": Path(dsla.detections)}, out_dir)
    first = _crowded_ids(load_odgt(gt), 1)[0]
    with console_to(out_dir / "console.log", enabled=ctx.settings.get("quiet", True)):
        before, after = feature_maps(dsla_trained.config, dsla_trained.checkpoint,
                                     root / "Images" / f"{first}.jpg")
    files.append(plot_feature_maps(before, after, out_dir / "feature_shuffle.png"))
    return Pictured(files=[str(f) for f in files])
