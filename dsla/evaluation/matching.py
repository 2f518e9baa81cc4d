"""Overlaps and Caltech-style greedy matching for a whole :class:`CrowdEvalSet` at once.

Overlap formulas are the official CrowdDet toolkit's (``box_overlap_opr``), computed with the
same floating-point operations so that threshold decisions agree bit for bit::

    inter = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1))
    IoU   = inter / (area_dt + area_gt - inter + 1e-6)
    IoA   = inter / (area_dt + 1e-6)                 # overlap with an ignore region

mmdet's ``bbox_overlaps`` instead casts the boxes to float32 and divides by ``max(union, 1e-6)``,
which can flip a match whose IoU is within ~1e-7 of 0.5 or of another candidate's IoU: the
source of the small AP differences between the two public implementations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .eval_set import CrowdEvalSet

EPS = 1e-6
# padded (detection, ground truth) pairs per vectorised block: bounds memory (~10 float64
# arrays of this size at once)
PAIR_BLOCK = 1 << 20


@dataclass(frozen=True)
class Overlaps:
    """What the metrics need from the detection x ground-truth overlaps.

    Attributes:
        cand_dt, cand_gt, cand_iou: ``(C,)`` every (detection, non-ignored ground truth) pair of
            an image with ``IoU > iou_thr`` (the only pairs that can ever match).
        dt_on_ignore: ``(D,)`` bool, detection has ``IoA > iou_thr`` with an ignore region.
        gt_on_ignore: ``(G,)`` bool, non-ignored ground truth with ``IoA > iou_thr`` with an
            ignore region of its image (IoA over the ground-truth box; JI only).
    """

    cand_dt: np.ndarray
    cand_gt: np.ndarray
    cand_iou: np.ndarray
    dt_on_ignore: np.ndarray
    gt_on_ignore: np.ndarray


def _overlap(a: np.ndarray, b: np.ndarray, use_iou: np.ndarray) -> np.ndarray:
    """Overlap of broadcastable corner boxes ``a`` (..., 4) and ``b`` (..., 4).

    IoU where ``use_iou``, else IoA (intersection over the area of ``a``). NaN boxes (padding)
    give NaN, which fails every ``>`` test. Works on contiguous coordinate planes and updates
    the big broadcast arrays in place (same operations, same order: bit-identical results).
    """
    ax1, ay1, ax2, ay2 = (np.ascontiguousarray(a[..., k]) for k in range(4))
    bx1, by1, bx2, by2 = (np.ascontiguousarray(b[..., k]) for k in range(4))
    inter = np.minimum(ax2, bx2)
    inter -= np.maximum(ax1, bx1)  # iw
    np.maximum(inter, 0, out=inter)
    ih = np.minimum(ay2, by2)
    ih -= np.maximum(ay1, by1)
    np.maximum(ih, 0, out=ih)
    inter *= ih  # max(0, iw) * max(0, ih)
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    union = area_a + area_b
    union -= inter
    union += EPS
    inter /= np.where(use_iou, union, area_a + EPS)
    return inter


class _ImageBlocks:
    """Rows of a flat image-sorted array gathered into NaN-padded ``(B, N, ...)`` image blocks."""

    def __init__(self, image_of_row: np.ndarray, num_images: int):
        self.count = np.bincount(image_of_row, minlength=num_images)  # (I,)
        self.start = np.cumsum(self.count) - self.count  # (I,)

    def pad(self, values: np.ndarray, images: np.ndarray, fill) -> np.ndarray:
        """``values`` rows of ``images`` (B,) as ``(B, max count, ...)``, padded with ``fill``."""
        counts = self.count[images]  # (B,)
        block = np.repeat(np.arange(len(images)), counts)  # (n,)
        slot = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)  # (n,)
        out = np.full((len(images), int(counts.max())) + values.shape[1:], fill, values.dtype)
        out[block, slot] = values[self.start[images][block] + slot]
        return out


def _image_chunks(images: np.ndarray, rows: np.ndarray, cols: np.ndarray):
    """``images`` in groups of similar size whose padded ``rows x cols`` blocks hold about
    PAIR_BLOCK pairs; ``rows``/``cols`` are per-image counts, images without pairs are left out."""
    images = images[(rows[images] > 0) & (cols[images] > 0)]
    images = images[np.lexsort((rows[images], cols[images]))]  # similar sizes side by side
    pairs = rows[images] * cols[images]
    chunk = (np.cumsum(pairs) - pairs) // PAIR_BLOCK
    bounds = np.flatnonzero(np.diff(chunk, prepend=-1))
    return np.split(images, bounds[1:]) if images.size else []


def compute_overlaps(data: CrowdEvalSet, iou_thr: float = 0.5) -> Overlaps:
    """Overlaps of every detection with every ground-truth box of its image, thresholded.

    Images are processed in blocks of similar size, padded to ``(B, max dt, max gt)`` so that
    each block is a handful of broadcast numpy operations.
    """
    all_images = np.arange(data.num_images)
    dts = _ImageBlocks(data.dt_image, data.num_images)
    gts = _ImageBlocks(data.gt_image, data.num_images)
    cand = ([], [], [])
    dt_on_ignore = np.zeros(len(data.dt_scores), dtype=bool)
    for images in _image_chunks(all_images, dts.count, gts.count):
        dt_box = dts.pad(data.dt_boxes, images, np.nan)[:, :, None, :]  # (B, Nd, 1, 4)
        gt_box = gts.pad(data.gt_boxes, images, np.nan)[:, None, :, :]  # (B, 1, Ng, 4)
        ignored = gts.pad(data.gt_ignore, images, False)[:, None, :]  # (B, 1, Ng)
        overlap = _overlap(dt_box, gt_box, ~ignored)  # (B, Nd, Ng)
        hit = overlap > iou_thr  # (B, Nd, Ng)
        b, i, j = np.nonzero(hit & ~ignored)  # (C,) each
        cand[0].append(dts.start[images][b] + i)
        cand[1].append(gts.start[images][b] + j)
        cand[2].append(overlap[b, i, j])
        b, i = np.nonzero((hit & ignored).any(axis=2))
        dt_on_ignore[dts.start[images][b] + i] = True

    # non-ignored ground truth lying on an ignore region of its image (only JI uses it)
    gt_on_ignore = np.zeros(len(data.gt_image), dtype=bool)
    with_ignore = np.bincount(data.gt_image[data.gt_ignore], minlength=data.num_images)
    for images in _image_chunks(all_images, gts.count, with_ignore):
        box = gts.pad(data.gt_boxes, images, np.nan)  # (B, Ng, 4)
        ignored = gts.pad(data.gt_ignore, images, False)  # (B, Ng)
        ioa = _overlap(box[:, :, None, :], box[:, None, :, :], np.False_)  # (B, Ng, Ng)
        on_ignore = ((ioa > iou_thr) & ignored[:, None, :]).any(axis=2) & ~ignored  # (B, Ng)
        b, i = np.nonzero(on_ignore)
        gt_on_ignore[gts.start[images][b] + i] = True

    def flat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    return Overlaps(flat(cand[0], np.int64), flat(cand[1], np.int64), flat(cand[2], np.float64),
                    dt_on_ignore, gt_on_ignore)


def score_order(data: CrowdEvalSet) -> np.ndarray:
    """All detections in descending score; ties keep image (file) order, then record order.

    This is the order of the official ``scorelist.sort(key=score, reverse=True)``, a stable
    sort over images in file order, each already stably sorted by descending score.
    """
    return np.argsort(-data.dt_scores, kind="stable")


def caltech_match(data: CrowdEvalSet, overlaps: Overlaps, order: np.ndarray) -> np.ndarray:
    """Greedy Caltech matching of the official toolkit (``Image.compare_caltech``).

    Per image, detections in descending score each take the still unmatched non-ignored ground
    truth of highest IoU above the threshold (first in file order on equal IoU). A detection
    that gets none but covers an ignore region (IoA above the threshold) is ignored: neither a
    true nor a false positive. Ignore regions may absorb any number of detections.

    All images advance together: step ``r`` matches the ``r``-th best detection of every image
    in one vectorised pass, so the Python loop runs over detection ranks, not detections.

    Returns:
        ``(D,)`` int8 label per detection: 1 true positive, 0 false positive, -1 ignored.
    """
    num_dt = len(data.dt_scores)
    by_image = order[np.argsort(data.dt_image[order], kind="stable")]  # (D,) image, then score
    dt_count = np.bincount(data.dt_image, minlength=data.num_images)
    rank = np.empty(num_dt, dtype=np.int64)
    rank[by_image] = np.arange(num_dt) - np.repeat(np.cumsum(dt_count) - dt_count, dt_count)

    c_dt, c_gt = overlaps.cand_dt, overlaps.cand_gt
    c_rank = rank[c_dt]
    # candidates by detection rank, then detection, best IoU first, then ground-truth order
    sort = np.lexsort((c_gt, -overlaps.cand_iou, c_dt, c_rank))
    c_dt, c_gt, c_rank = c_dt[sort], c_gt[sort], c_rank[sort]
    gt_taken = np.zeros(len(data.gt_image), dtype=bool)
    dt_matched = np.zeros(num_dt, dtype=bool)
    starts = np.flatnonzero(np.diff(c_rank, prepend=-1))
    ends = np.append(starts[1:], len(c_rank))
    for lo, hi in zip(starts.tolist(), ends.tolist()):
        free = ~gt_taken[c_gt[lo:hi]]  # (n,) candidates still open at this rank
        dts, gts = c_dt[lo:hi][free], c_gt[lo:hi][free]
        if dts.size:
            first = np.flatnonzero(np.diff(dts, prepend=-1))  # best open candidate per detection
            gt_taken[gts[first]] = True
            dt_matched[dts[first]] = True

    labels = np.zeros(num_dt, dtype=np.int8)
    labels[overlaps.dt_on_ignore] = -1
    labels[dt_matched] = 1
    return labels
