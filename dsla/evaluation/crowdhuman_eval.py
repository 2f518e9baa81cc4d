"""CrowdHuman evaluation: AP, MR^-2, JI and Recall, identical to the official CrowdDet toolkit.

The public entry points are re-exported by :mod:`dsla.evaluation.crowdhuman`, which is also the
command line (``python -m dsla.evaluation.crowdhuman GT.odgt DT.odgt``).

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

Checked against the official toolkit (run unmodified): identical to ~1e-15 on random crowds.
Where mmdet's ``CrowdHumanMetric`` differs, this follows CrowdDet:

- JI matching: mmdet takes a maximum-cardinality matching over IoU >= 0.5, CrowdDet a
  maximum-weight one over IoU > 0.5 (see :mod:`.jaccard`); JI differs by a few 1e-4;
- IoU: mmdet casts boxes to float32 and divides by ``max(union, 1e-6)`` (see :mod:`.matching`);
  rare flipped matches, AP/MR^-2 equal at mmdet's 4-decimal rounding on random crowds;
- mmdet pairs annotation lines and predictions by position, rounds to 4 decimals, has no Recall.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from dsla.datasets.odgt import load_odgt

from .ap_mr import average_precision, cumulative_counts, final_recall, log_average_miss_rate
from .detections import ImageDetections, collect_detections, load_detections
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
