"""Instance density of a dataset: the statistics of the paper's Table 1.

Definitions (IoU > 0.5, strictly, counts as an overlap):

- ``objects_per_image``: number of counted objects divided by the number of images, over all
  images listed (images without objects count, with zero objects).
- ``overlaps_per_image``: number of unordered pairs of counted objects of the same category in the
  same image whose boxes have IoU > 0.5, divided by the number of images — for COCO json
  averaged over the categories listed in ``categories`` (the footnote of Table 1: "averaged over
  the number of categories"), i.e. ``sum_c pairs_c / (num_images * num_categories)``. With one
  category both definitions agree, so the synthetic crowd preset gives the same number either way.

Which objects count:

- odgt (CrowdHuman): boxes tagged ``"person"`` that are not ignore regions (``extra.ignore != 0``);
  ``"mask"`` regions are not people. Boxes are the full-body ``fbox``, as CrowdHuman's own
  statistic (22.64 persons and 2.40 pairs per image on its training set). The ``tag`` argument
  counts another class instead, e.g. for the multi-class synthetic odgt.
- COCO json: annotations with ``iscrowd == 0`` (crowd regions are ignore regions); boxes are
  ``bbox``.

COCO's ``objects_per_image`` is not averaged over categories: averaging a count of objects over
80 categories would give ~0.1, far from Table 1's 9.34, so the footnote can only refer to the
overlap column.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .coco_format import load_coco
from .odgt import is_ignore, load_odgt, record_boxes

IOU_THRESHOLD = 0.5


PAIRS_CHUNK = 1 << 22  # IoU entries computed at once: the memory of one image is O(n) for large n, not O(n²)


def overlapping_pairs(boxes_xyxy: np.ndarray, threshold: float = IOU_THRESHOLD) -> int:
    """Number of unordered pairs of boxes ``(n, 4)`` (x1, y1, x2, y2) with IoU > ``threshold``.

    Rows are compared in chunks of at most ``PAIRS_CHUNK`` IoU entries, so millions of boxes in
    one image take time, not terabytes."""
    n = len(boxes_xyxy)
    if n < 2:
        return 0
    b = np.asarray(boxes_xyxy, dtype=np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])                     # (n,)
    rows = max(1, PAIRS_CHUNK // n)
    pairs = 0
    for start in range(0, n - 1, rows):
        stop = min(n, start + rows)
        left, right = b[start:stop], b[start:]                            # rows vs every later box
        wh = np.clip(np.minimum(left[:, None, 2:], right[None, :, 2:])
                     - np.maximum(left[:, None, :2], right[None, :, :2]), 0, None)  # (r, m, 2)
        inter = wh[..., 0] * wh[..., 1]
        iou = inter / (area[start:stop, None] + area[None, start:] - inter)
        pairs += int(np.count_nonzero(np.triu(iou > threshold, k=1)))  # column j > row i only
    return pairs


def _summary(num_images: int, objects: int, pairs: int) -> dict:
    if num_images == 0:
        raise ValueError("density of a dataset without images is undefined")
    return {"images": num_images, "objects": objects, "overlapping_pairs": pairs,
            "objects_per_image": objects / num_images, "overlaps_per_image": pairs / num_images}


def odgt_density(records: list[dict], tag: str = "person") -> dict:
    """Table 1 statistics of odgt records (see the module docstring for what counts)."""
    objects = pairs = 0
    for record in records:
        boxes, ignore = record_boxes(record)
        keep = np.array([g.get("tag") == tag for g in record["gtboxes"]], dtype=bool) & ~ignore
        objects += int(keep.sum())
        pairs += overlapping_pairs(boxes[keep])
    return _summary(len(records), objects, pairs)


def coco_density(coco: dict) -> dict:
    """Table 1 statistics of a COCO dict, overlaps averaged over its categories.

    Returns the summary of all categories together plus ``overlaps_per_image_all_categories``
    (pairs of all categories per image, not averaged) and ``per_category``.
    """
    num_images, categories = len(coco["images"]), coco["categories"]
    if not categories:
        raise ValueError("COCO json has no categories")
    boxes_of = defaultdict(list)                          # (image_id, category_id) -> [xyxy]
    for ann in coco["annotations"]:
        if ann.get("iscrowd", 0):
            continue
        x, y, w, h = ann["bbox"]
        boxes_of[ann["image_id"], ann["category_id"]].append((x, y, x + w, y + h))
    objects_of, pairs_of = defaultdict(int), defaultdict(int)
    for (_, category_id), boxes in boxes_of.items():
        objects_of[category_id] += len(boxes)
        pairs_of[category_id] += overlapping_pairs(np.asarray(boxes))
    total_pairs = sum(pairs_of.values())
    summary = _summary(num_images, sum(objects_of.values()), total_pairs)
    summary["overlaps_per_image"] = total_pairs / (num_images * len(categories))
    summary["overlaps_per_image_all_categories"] = total_pairs / num_images
    summary["per_category"] = {
        c["name"]: {"objects_per_image": objects_of[c["id"]] / num_images,
                    "overlaps_per_image": pairs_of[c["id"]] / num_images}
        for c in categories}
    return summary


def file_density(path: str | Path) -> dict:
    """Table 1 statistics of an ``.odgt`` or COCO ``.json`` annotation file."""
    path = Path(path)
    if path.suffix == ".odgt":
        records = load_odgt(path)
        tags = sorted({g.get("tag") for r in records for g in r["gtboxes"] if not is_ignore(g)})
        stats = {"format": "odgt", **odgt_density(records)}
        if tags and tags != ["person"]:
            stats["per_tag"] = {t: odgt_density(records, tag=t) for t in tags}
        return stats
    return {"format": "coco", **coco_density(load_coco(path))}
