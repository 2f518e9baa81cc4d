"""AP, MR^-2 and Recall from the matched detection list (official CrowdDet definitions).

The input is the dataset-wide detection list in descending score (:func:`score_order`) with
one label per detection from :func:`caltech_match`; ignored detections (label -1) are dropped,
exactly as the official toolkit leaves them out of its ``scorelist``. After the ``i``-th kept
detection::

    recall_i    = TP_i / G                  (G: non-ignored ground-truth boxes)
    precision_i = TP_i / (TP_i + FP_i)
    fppi_i      = FP_i / I                  (I: evaluated images)
"""
from __future__ import annotations

import numpy as np

# FPPI reference points of the Caltech MR^-2: 9 points evenly spaced in log space from 10^-2 to
# 10^0, written as the official toolkit rounds them (CALTECH_MRREF_2).
MR2_FPPI_POINTS = np.array([0.0100, 0.0178, 0.03160, 0.0562, 0.1000, 0.1778, 0.3162, 0.5623,
                            1.000])


def cumulative_counts(labels_in_order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Running true- and false-positive counts over the non-ignored detections, as float64."""
    kept = labels_in_order[labels_in_order >= 0]
    tp = np.cumsum(kept == 1, dtype=np.float64)
    fp = np.cumsum(kept == 0, dtype=np.float64)
    return tp, fp


def average_precision(tp: np.ndarray, fp: np.ndarray, num_gt: int) -> float:
    """Area under the precision-recall curve by the trapezoid rule between consecutive detections.

    As in the official ``_calculate_map``: the curve starts at the first detection (no extra
    point at recall 0), so the sum runs over ``i = 1 .. n-1`` of
    ``(recall_i - recall_{i-1}) * (precision_{i-1} + precision_i) / 2``. No detection gives 0.
    """
    recall = tp / num_gt
    precision = tp / (tp + fp)
    return float(np.sum((recall[1:] - recall[:-1]) * ((precision[:-1] + precision[1:]) / 2)))


def log_average_miss_rate(tp: np.ndarray, fp: np.ndarray, num_gt: int, num_images: int) -> float:
    """Caltech log-average miss rate MR^-2 over the 9 FPPI points 10^-2 .. 10^0.

    At each reference FPPI the miss rate ``1 - recall`` is read at the first detection whose
    FPPI reaches it, or at the last detection when the curve never gets there (the official
    ``_find_gt``); the result is the geometric mean of the 9 miss rates (0 if one of them is 0).
    With no non-ignored detection at all the official toolkit returns NaN (mean of an empty
    list); here the miss rate is then 1 at every point, so MR^-2 = 1.
    """
    if tp.size == 0:
        return 1.0
    fppi = fp / num_images
    miss_rate = 1.0 - tp / num_gt
    at = np.minimum(np.searchsorted(fppi, MR2_FPPI_POINTS, side="left"), fppi.size - 1)
    with np.errstate(divide="ignore"):
        return float(np.exp(np.log(miss_rate[at]).mean()))


def final_recall(tp: np.ndarray, num_gt: int) -> float:
    """Recall with all detections: matched non-ignored ground truth over all of it."""
    return float(tp[-1] / num_gt) if tp.size else 0.0
