"""Ground truth and detections of a whole CrowdHuman evaluation as flat, image-sorted arrays.

The official CrowdDet toolkit (``lib/evaluate/APMRToolkits``) keeps one ``Image`` object per
record; here every box of every image lives in one array, grouped by image in ground-truth file
order, so the matching and the metrics can work on all images at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from dsla.datasets.odgt import record_boxes

from .detections import DetectionFormatError, ImageDetections


@dataclass(frozen=True)
class CrowdEvalSet:
    """All boxes of an evaluation, clipped to their image.

    Ground truth is sorted by image, then non-ignored before ignored boxes (stable), which is
    the order the official matcher walks them in. Detections are sorted by image and keep their
    order within the image (it decides ties in score, as in the official toolkit).

    Attributes:
        image_ids: ``I`` image IDs in ground-truth file order.
        gt_boxes: ``(G, 4)`` float64 corners; gt_ignore ``(G,)`` bool; gt_image ``(G,)`` int64.
        dt_boxes: ``(D, 4)`` float64 corners; dt_scores ``(D,)``; dt_image ``(D,)`` int64.
    """

    image_ids: list[str]
    gt_boxes: np.ndarray
    gt_ignore: np.ndarray
    gt_image: np.ndarray
    dt_boxes: np.ndarray
    dt_scores: np.ndarray
    dt_image: np.ndarray

    @property
    def num_images(self) -> int:
        return len(self.image_ids)

    @property
    def num_gt(self) -> int:
        """Number of non-ignored ground-truth boxes (the recall denominator)."""
        return int(np.count_nonzero(~self.gt_ignore))


def clip_to_image(boxes: np.ndarray, width: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Clip corner boxes to their image exactly as the official toolkit does.

    ``x1`` goes to ``[0, width - 1]`` and ``x2`` to ``[0, width]`` (``y`` likewise): the
    toolkit's ``clip_boundary``, applied to detections and ground truth alike. ``width`` and
    ``height`` are per box, shape ``(n,)``.
    """
    clipped = np.empty_like(boxes)
    clipped[:, 0] = np.minimum(np.maximum(boxes[:, 0], 0), width - 1)
    clipped[:, 1] = np.minimum(np.maximum(boxes[:, 1], 0), height - 1)
    clipped[:, 2] = np.maximum(np.minimum(boxes[:, 2], width), 0)
    clipped[:, 3] = np.maximum(np.minimum(boxes[:, 3], height), 0)
    return clipped


def _image_size(gt_record: dict, detections: ImageDetections, gt_where: str) -> tuple[int, int]:
    """The image size for clipping: the ground-truth record's, else the detection record's."""
    width = gt_record.get("width", detections.width)
    height = gt_record.get("height", detections.height)
    if width is None or height is None:
        raise DetectionFormatError(
            f"{detections.where}: image size unknown; boxes are clipped to the image as in the "
            f"official evaluation, so give 'width' and 'height' in the detection record or in "
            f"the ground truth ({gt_where})")
    return width, height


def build_eval_set(gt_records: Sequence[dict], detections: Mapping[str, ImageDetections],
                   gt_source: str = "gt_records") -> CrowdEvalSet:
    """Pair ground-truth records with detections by image ID and flatten them.

    Every ground-truth image must have a detection record (an image without detections has an
    empty ``dtboxes`` list), and every detection ID must be in the ground truth.
    """
    gt_ids = [record["ID"] for record in gt_records]
    known = set(gt_ids)
    unknown = [d.where for image_id, d in detections.items() if image_id not in known]
    if unknown:
        raise DetectionFormatError(f"{unknown[0]}: ID not in the ground truth {gt_source} "
                                   f"({len(unknown)} such detection records)")
    missing = [image_id for image_id in gt_ids if image_id not in detections]
    if missing:
        raise DetectionFormatError(
            f"detections: no record for {len(missing)} ground-truth image(s) of {gt_source}, "
            f"e.g. ID {missing[0]!r} (an image without detections needs a record with an "
            f"empty 'dtboxes' list)")

    gt_parts, ignore_parts, dt_parts, score_parts = [], [], [], []
    gt_sizes, dt_sizes = [], []
    for index, record in enumerate(gt_records):
        dets = detections[record["ID"]]
        width, height = _image_size(record, dets, f"{gt_source} record {index + 1}")
        boxes, ignore = record_boxes(record, "fbox")
        gt_parts.append(boxes)
        ignore_parts.append(ignore)
        dt_parts.append(dets.boxes)
        score_parts.append(dets.scores)
        gt_sizes.append((len(boxes), width, height))
        dt_sizes.append((len(dets.boxes), width, height))

    gt_count, gt_w, gt_h = np.array(gt_sizes, dtype=np.int64).reshape(-1, 3).T
    dt_count, dt_w, dt_h = np.array(dt_sizes, dtype=np.int64).reshape(-1, 3).T
    image_index = np.arange(len(gt_records))
    gt_image = np.repeat(image_index, gt_count)
    gt_boxes = clip_to_image(_stack(gt_parts), np.repeat(gt_w, gt_count).astype(np.float64),
                             np.repeat(gt_h, gt_count).astype(np.float64))
    gt_ignore = np.concatenate(ignore_parts) if ignore_parts else np.zeros(0, dtype=bool)
    # within an image: non-ignored first, then ignored, each in file order
    gt_order = np.lexsort((np.arange(len(gt_image)), gt_ignore, gt_image))
    dt_image = np.repeat(image_index, dt_count)
    dt_boxes = clip_to_image(_stack(dt_parts), np.repeat(dt_w, dt_count).astype(np.float64),
                             np.repeat(dt_h, dt_count).astype(np.float64))
    dt_scores = np.concatenate(score_parts) if score_parts else np.zeros(0)
    return CrowdEvalSet(gt_ids, gt_boxes[gt_order], gt_ignore[gt_order], gt_image[gt_order],
                        dt_boxes, dt_scores, dt_image)


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, 4))
