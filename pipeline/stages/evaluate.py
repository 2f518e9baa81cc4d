"""Stage `evaluate`: the trained model's detections on the validation set, and their metrics.

The trained config is re-loaded with the last checkpoint and run through mmengine's test loop
with mmdet's `DumpDetResults`, so the detections are written once, in files anyone can
re-evaluate:
- CrowdHuman-style data: `detections.odgt` (CrowdDet layout) scored by
  `dsla.evaluation.crowdhuman.evaluate_files` → AP, MR2, JI, Recall (fractions);
- COCO-style data: `detections.bbox.json` (COCO results) scored by
  `dsla.evaluation.coco.coco_ap` → AP, AP50, AP75 (fractions).
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

from ..runtime.console import console_to
from ..runtime.resources import limit_threads
from .contracts import Evaluated, Prepared, Trained

PIPELINE_HOOKS = ("EpochRecordHook", "EpochProgressHook", "MLflowMetricsHook")


def predict(config: str, checkpoint: str, work_dir: Path, quiet: bool = True, val_ann: str | None = None) -> list[dict]:
    """mmdet predictions of the validation set (`DumpDetResults` records), on this process."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from dsla.engine.safe_checkpoint import use_weights_only_loading

    use_weights_only_loading()
    cfg = Config.fromfile(config)
    dump = work_dir / "predictions.pkl"
    cfg.work_dir, cfg.load_from, cfg.resume, cfg.launcher = str(work_dir), checkpoint, False, "none"
    cfg.custom_hooks = [h for h in cfg.get("custom_hooks", []) if h.get("type") not in PIPELINE_HOOKS]
    cfg.test_dataloader = cfg.val_dataloader
    if val_ann is not None:  # all validation images, also when training validated on a curve subset
        cfg.test_dataloader.dataset.ann_file = val_ann
    cfg.test_evaluator = [dict(type="DumpDetResults", out_file_path=str(dump))]
    with console_to(work_dir / "console.log", enabled=quiet):
        Runner.from_cfg(cfg).test()
    with open(dump, "rb") as handle:
        return pickle.load(handle)


def crowdhuman_detections(predictions: list[dict], path: Path) -> Path:
    from dsla.evaluation.detections import detection_record, write_odgt

    records = []
    for pred in predictions:
        height, width = pred["ori_shape"][:2]
        instances = pred["pred_instances"]
        records.append(detection_record(str(pred["img_id"]), _numpy(instances["bboxes"]),
                                        _numpy(instances["scores"]), width, height))
    return write_odgt(path, records)


def coco_detections(predictions: list[dict], gt_json: Path, path: Path, classes=None) -> Path:
    """COCO results; label i is the category named `classes[i]` (the dataset's metainfo, as mmdet's
    CocoDataset numbers its labels), or the i-th category by id when the config names no classes."""
    categories = json.loads(gt_json.read_text())["categories"]
    if classes:
        by_name = {c["name"]: c["id"] for c in categories}
        missing = [name for name in classes if name not in by_name]
        if missing:
            raise ValueError(f"{gt_json}: no category named {missing} (the config's classes: {list(classes)})")
        category_ids = [by_name[name] for name in classes]
    else:
        category_ids = [c["id"] for c in sorted(categories, key=lambda c: c["id"])]
    results = []
    for pred in predictions:
        instances = pred["pred_instances"]
        for (x1, y1, x2, y2), score, label in zip(_numpy(instances["bboxes"]).tolist(),
                                                  _numpy(instances["scores"]).tolist(),
                                                  _numpy(instances["labels"]).tolist()):
            results.append({"image_id": pred["img_id"], "category_id": category_ids[int(label)],
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    path.write_text(json.dumps(results))
    return path


def dataset_classes(config: str):
    from mmengine.config import Config
    return Config.fromfile(config).val_dataloader.dataset.get("metainfo", {}).get("classes")


def _numpy(value):
    return value.numpy() if hasattr(value, "numpy") else value


def evaluate(ctx, *, profile: str, dataset: str, trained: Trained, prepared: Prepared) -> Evaluated:
    work_dir = Path(ctx.work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    limit_threads(profile)
    predictions = predict(trained.config, trained.checkpoint, work_dir, ctx.settings.get("quiet", True),
                          val_ann=prepared.val_ann)
    gt = Path(prepared.data_root) / prepared.val_ann
    if dataset == "crowdhuman":
        from dsla.evaluation.crowdhuman import evaluate_files as score
        detections = crowdhuman_detections(predictions, work_dir / "detections.odgt")
    else:
        from dsla.evaluation.coco import coco_ap as score
        detections = coco_detections(predictions, gt, work_dir / "detections.bbox.json", dataset_classes(trained.config))
    return Evaluated(metrics={k: float(v) for k, v in score(gt, detections).items()}, detections=str(detections),
                     epochs=len(trained.epochs),
                     curve=[[r["epoch"], r["AP"]] for r in trained.epochs if "AP" in r],
                     run=trained.run, data=trained.data, weights=trained.weights, knobs=trained.knobs)
