"""Jaccard index (JI) of the CrowdHuman benchmark, as the official CrowdDet toolkit computes it.

For a score threshold ``t``, per image: the detections with score ``> t`` are matched one-to-one
to the non-ignored ground truth by a **maximum-weight** bipartite matching over the pairs with
``IoU > 0.5`` (weight = IoU); ``k`` is the number of matched pairs. Unmatched detections that
cover an ignore region (IoA > 0.5) are dropped from ``n``, unmatched non-ignored ground truth
lying on an ignore region is dropped from ``m``::

    JI_image = k / (m + n - k + 1e-6)
    JI(t)    = sum of JI_image / number of images with m > 0 or n > 0
    JI       = max over t in 0.0, 0.1, ..., 0.9

Matching: the official ``compute_JI.py`` calls ``maxWeightMatching`` (Edmonds' blossom algorithm,
maximum total IoU, not maximum cardinality); this module solves the same problem with scipy's
``linear_sum_assignment`` on each image's IoU matrix (zero where ``IoU <= 0.5``; zero-weight
assignments are dropped). mmdet's ``CrowdHumanMetric`` instead uses
``maximum_bipartite_matching`` (maximum *cardinality*, weights ignored) over ``IoU >= 0.5``.
The two differ when one more pair needs a chain of re-assignments to partners of lower IoU:
people X, Y, Z side by side, detections A = X, B = Y and a loose C on X only; maximum weight
keeps A-X, B-Y (k = 2, total IoU 2.0), maximum cardinality takes C-X, A-Y, B-Z (k = 3, total
IoU 1.87). mmdet's k is never smaller on the same pairs, so its JI is a few 1e-4 higher in
crowds; its ``>=`` also admits pairs at exactly 0.5, and it computes IoU in float32. This
module follows CrowdDet.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .eval_set import CrowdEvalSet
from .matching import EPS, Overlaps

# the official thresholds, computed the same way (1e-1 * i)
JI_SCORE_THRESHOLDS = tuple(1e-1 * i for i in range(10))


def _first_in_run(values: np.ndarray) -> np.ndarray:
    """True where a sorted array starts a new run of equal values."""
    return np.diff(values, prepend=-1) != 0


class ImageMatchings:
    """Maximum-weight matchings of the candidate pairs, image by image, for nested score cuts.

    Built once from all candidate pairs (``IoU > 0.5``); :meth:`match` then matches the pairs
    whose detection is kept. Three cases, decided with vectorised degree counts:

    - an image whose kept pairs share no detection and no ground truth: all of them match;
    - an image whose matching at the previous (lower) threshold only used detections that are
      still kept: that matching is still optimal (it is optimal on a superset of the pairs and
      feasible on the subset), so it is reused;
    - otherwise one ``linear_sum_assignment`` on the image's IoU matrix, restricted to the
      detections and ground truth that have candidate pairs.
    """

    def __init__(self, data: CrowdEvalSet, overlaps: Overlaps):
        self.data = data
        order = np.argsort(overlaps.cand_dt, kind="stable")  # detection ids are image-sorted
        self.dt = overlaps.cand_dt[order]  # (E,)
        self.gt = overlaps.cand_gt[order]  # (E,)
        self.iou = overlaps.cand_iou[order]  # (E,)
        self.image = data.dt_image[self.dt]  # (E,)
        count = np.bincount(self.image, minlength=data.num_images)  # (I,)
        self.edge_bounds = np.concatenate([[0], np.cumsum(count)])  # (I + 1,)
        # row of each pair in its image's IoU matrix: rank of its detection among the image's
        # detections with pairs; column: place of its ground truth in the image
        new_row = _first_in_run(self.dt)  # (E,)
        self.row_dt = self.dt[new_row]  # (R,) detection of every matrix row, image by image
        rows_before = np.concatenate([[0], np.cumsum(new_row)])  # (E + 1,)
        self.row_start = rows_before[self.edge_bounds[:-1]]  # (I,) first row of each image
        self.row = rows_before[1:] - 1 - self.row_start[self.image]  # (E,)
        gt_count = np.bincount(data.gt_image, minlength=data.num_images)
        self.gt_start = np.cumsum(gt_count) - gt_count  # (I,)
        self.col = self.gt - self.gt_start[self.image]

    def _solve(self, image: int, keep: np.ndarray, dt_matched: np.ndarray,
               gt_matched: np.ndarray) -> None:
        """One image's maximum-weight matching; marks the matched detections / ground truth."""
        lo, hi = self.edge_bounds[image], self.edge_bounds[image + 1]
        row, col = self.row[lo:hi], self.col[lo:hi]
        weight = np.zeros((row[-1] + 1, col.max() + 1))  # rows are sorted
        weight[row, col] = self.iou[lo:hi] * keep[self.dt[lo:hi]]
        r, c = linear_sum_assignment(weight, maximize=True)
        real = weight[r, c] > 0  # zero weight: not a kept candidate pair
        dt_matched[self.row_dt[self.row_start[image] + r[real]]] = True
        gt_matched[self.gt_start[image] + c[real]] = True

    def match(self, keep: np.ndarray, previous: tuple[np.ndarray, np.ndarray] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Match the pairs of kept detections; ``previous`` = result at a lower threshold.

        Returns ``(dt_matched (D,), gt_matched (G,))`` bool.
        """
        data = self.data
        dt_matched = np.zeros(len(data.dt_scores), dtype=bool)
        gt_matched = np.zeros(len(data.gt_image), dtype=bool)
        kept = keep[self.dt]  # (E,)
        dt, gt = self.dt[kept], self.gt[kept]
        shared = np.zeros(dt.size, dtype=bool)  # pair shares its detection or ground truth
        if dt.size:
            shared = (np.bincount(dt)[dt] > 1) | (np.bincount(gt)[gt] > 1)
        hard = np.zeros(data.num_images, dtype=bool)
        hard[data.dt_image[dt[shared]]] = True
        easy = ~hard[data.dt_image[dt]]
        dt_matched[dt[easy]] = True
        gt_matched[gt[easy]] = True
        if previous is not None:
            stale = np.zeros(data.num_images, dtype=bool)
            stale[data.dt_image[previous[0] & ~keep]] = True
            reuse = hard & ~stale
            dt_matched |= previous[0] & reuse[data.dt_image]
            gt_matched |= previous[1] & reuse[data.gt_image]
            hard &= stale
        for image in np.flatnonzero(hard).tolist():
            self._solve(image, keep, dt_matched, gt_matched)
        return dt_matched, gt_matched


def jaccard_at(data: CrowdEvalSet, overlaps: Overlaps, keep: np.ndarray,
               dt_matched: np.ndarray, gt_matched: np.ndarray) -> float:
    """Mean per-image Jaccard index of the kept detections given their matching.

    0 when no image has a person or a kept detection left (the official toolkit divides by 0).
    """
    num_images = data.num_images

    def per_image(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
        return np.bincount(image[mask], minlength=num_images)

    person = ~data.gt_ignore
    k = per_image(dt_matched, data.dt_image)
    n = per_image(keep, data.dt_image) \
        - per_image(keep & ~dt_matched & overlaps.dt_on_ignore, data.dt_image)
    m = per_image(person, data.gt_image) \
        - per_image(person & ~gt_matched & overlaps.gt_on_ignore, data.gt_image)
    ratio = k / (m + n - k + EPS)
    counted = np.count_nonzero((m != 0) | (n != 0))
    return float(ratio.sum() / counted) if counted else 0.0


def jaccard_index(data: CrowdEvalSet, overlaps: Overlaps) -> float:
    """JI: the best mean per-image Jaccard index over the score thresholds 0.0 .. 0.9."""
    matchings = ImageMatchings(data, overlaps)
    best, previous = 0.0, None
    for thr in JI_SCORE_THRESHOLDS:
        keep = data.dt_scores > thr
        previous = matchings.match(keep, previous)
        best = max(best, jaccard_at(data, overlaps, keep, *previous))
    return best
