"""CrowdHuman evaluation: AP, MR^-2, JI and Recall, identical to the official CrowdDet toolkit.

Usage::

    python -m dsla.evaluation.crowdhuman annotation_val.odgt detections.odgt
    {"AP": 0.9012, "MR2": 0.4511, "JI": 0.8012, "Recall": 0.9734}    # fractions in [0, 1]

Definitions (``lib/evaluate`` of the CrowdDet repository; mmdet 3.x ``CrowdHumanMetric`` ports
its AP/MR^-2/JI). Full-body boxes (``fbox``); ground truth tagged ``mask`` or with
``extra.ignore`` is an ignore region. Detections and ground truth are clipped to the image
(``x1`` to ``[0, w-1]``, ``x2`` to ``[0, w]``), so the image size must be known.

- AP, MR^-2, Recall (:mod:`.ap_mr`) from a greedy Caltech matching at IoU > 0.5
  (:func:`.matching.caltech_match`): detections on ignore regions count neither as true nor as
  false positives. AP: trapezoid rule over all detections; MR^-2: log-average miss rate at the
  9 FPPI points 10^-2 .. 10^0; Recall: with all detections.
- JI (:mod:`.jaccard`): best over score thresholds 0.0 .. 0.9 of the mean per-image
  k / (m + n - k) from a maximum-weight matching.

Edge cases the official toolkit does not handle (it crashes or returns NaN), decided here:

- an image without ground truth (empty ``gtboxes``): all its detections are false positives,
  it counts in the FPPI denominator (official and mmdet crash unpacking its boxes);
- no non-ignored ground truth at all: recall is undefined, :func:`evaluate` raises ValueError;
- no non-ignored detection at all: AP = 0, Recall = 0, MR^-2 = 1 (official: NaN);
- a ground-truth image without a detection record: error (official: crash); an image without
  detections must have a record with an empty ``dtboxes``;
- ties in score keep ground-truth file order, then record order, as the official stable sort.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Mapping, Sequence

from dsla.datasets.odgt import OdgtFormatError, load_odgt

from .ap_mr import average_precision, cumulative_counts, final_recall, log_average_miss_rate
from .detections import DetectionFormatError, ImageDetections, collect_detections, \
    load_detections
from .eval_set import build_eval_set
from .jaccard import jaccard_index
from .matching import caltech_match, compute_overlaps, score_order

IOU_THRESHOLD = 0.5


def evaluate_detections(gt_records: Sequence[dict], detections: Mapping[str, ImageDetections],
                        gt_source: str = "gt_records") -> dict[str, float]:
    """AP, MR2, JI and Recall of parsed detections ``{ID: ImageDetections}`` on ``gt_records``.

    The images evaluated are those of ``gt_records`` (which must all have detections).
    """
    data = build_eval_set(gt_records, detections, gt_source)
    if data.num_gt == 0:
        raise ValueError(f"{gt_source}: no non-ignored ground-truth box in the "
                         f"{data.num_images} evaluated image(s); AP, MR^-2 and Recall are "
                         f"undefined")
    overlaps = compute_overlaps(data, IOU_THRESHOLD)
    order = score_order(data)
    labels = caltech_match(data, overlaps, order)
    tp, fp = cumulative_counts(labels[order])
    return {
        "AP": average_precision(tp, fp, data.num_gt),
        "MR2": log_average_miss_rate(tp, fp, data.num_gt, data.num_images),
        "JI": jaccard_index(data, overlaps),
        "Recall": final_recall(tp, data.num_gt),
    }


def evaluate(gt_records: Sequence[dict], dt_records: Sequence[dict]) -> dict[str, float]:
    """Evaluate detection records (odgt dicts with ``ID`` and ``dtboxes``) on ground truth.

    ``gt_records`` are validated odgt records (e.g. from :func:`load_odgt`); every one needs a
    detection record. Returns ``{"AP", "MR2", "JI", "Recall"}`` as fractions.
    """
    detections = collect_detections((f"dt_records[{i}]", r) for i, r in enumerate(dt_records))
    return evaluate_detections(gt_records, detections)


def evaluate_files(gt_odgt: str | Path, dt_odgt: str | Path) -> dict[str, float]:
    """Evaluate a detection ``.odgt`` file against a ground-truth ``.odgt`` file."""
    return evaluate_detections(load_odgt(gt_odgt), load_detections(dt_odgt), str(gt_odgt))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dsla.evaluation.crowdhuman",
        description="CrowdHuman AP, MR^-2, JI and Recall (official CrowdDet definitions); "
                    "prints one JSON object with fractions in [0, 1].")
    parser.add_argument("gt", type=Path, help="ground-truth .odgt (e.g. annotation_val.odgt)")
    parser.add_argument("dt", type=Path, help="detections .odgt: ID, width, height, dtboxes")
    args = parser.parse_args(argv)
    try:
        result = evaluate_files(args.gt, args.dt)
    except (OdgtFormatError, DetectionFormatError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
