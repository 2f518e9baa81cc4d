"""COCO box AP, AP50 and AP75 of a detection result file, through pycocotools.

In validation loops use mmdet's ``CocoMetric`` (``dict(type='CocoMetric', ann_file=...,
metric='bbox')``, logged as ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ``coco/bbox_mAP_75``). This
function is the same pycocotools computation for files, for the pipeline's evaluate stage:
``COCOeval(iouType="bbox")`` with its default parameters (IoU 0.50:0.05:0.95, 100 detections
per image, all areas), stats[0..2].
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path


def coco_ap(gt_json: str | Path, dt_json: str | Path) -> dict[str, float]:
    """``{"AP", "AP50", "AP75"}`` (fractions) of COCO results ``dt_json`` on ``gt_json``.

    ``dt_json`` is the COCO results format: a JSON list of
    ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` (what mmdet's ``CocoMetric``
    writes with ``outfile_prefix``). An empty list scores 0. Results for images or categories
    missing from ``gt_json``, or a ``gt_json`` without boxes, raise ValueError.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        gt = COCO(str(gt_json))
    results = json.loads(Path(dt_json).read_text())
    if not isinstance(results, list):
        raise ValueError(f"{dt_json}: expected a JSON list of COCO detection results")
    if not results:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    unknown_images = {r.get("image_id") for r in results} - set(gt.getImgIds())
    unknown_cats = {r.get("category_id") for r in results} - set(gt.getCatIds())
    if unknown_images or unknown_cats:
        raise ValueError(f"{dt_json}: results name image ids {list(unknown_images)[:5]} / "
                         f"category ids {list(unknown_cats)[:5]} absent from {gt_json}")
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(gt, gt.loadRes(results), iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    ap, ap50, ap75 = (float(v) for v in evaluator.stats[:3])
    if ap < 0:  # pycocotools' -1: no ground truth to score against
        raise ValueError(f"{gt_json}: no ground-truth boxes, COCO AP is undefined")
    return {"AP": ap, "AP50": ap50, "AP75": ap75}
