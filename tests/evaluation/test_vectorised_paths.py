"""The vectorised shortcuts give the same numbers as the plain computation they replace."""
import numpy as np
import pytest

from dsla.evaluation import jaccard, matching
from dsla.evaluation.crowdhuman import evaluate
from dsla.evaluation.detections import collect_detections
from dsla.evaluation.eval_set import build_eval_set
from dsla.evaluation.random_crowd import random_crowd_records


@pytest.fixture(scope="module")
def crowd():
    return random_crowd_records(40, seed=9, persons_per_image=30)


def test_overlap_blocks_of_any_size_give_the_same_result(crowd, monkeypatch):
    reference = evaluate(*crowd)
    monkeypatch.setattr(matching, "PAIR_BLOCK", 97)  # many tiny blocks, uneven sizes
    assert evaluate(*crowd) == reference


def eval_set(crowd):
    gt_records, dt_records = crowd
    return build_eval_set(gt_records, collect_detections(
        (f"dt_records[{i}]", r) for i, r in enumerate(dt_records)))


def test_reusing_the_lower_threshold_matching_equals_solving_every_threshold(crowd):
    data = eval_set(crowd)
    overlaps = matching.compute_overlaps(data)
    matchings = jaccard.ImageMatchings(data, overlaps)
    previous = None
    for thr in jaccard.JI_SCORE_THRESHOLDS:
        keep = data.dt_scores > thr
        fresh = matchings.match(keep, None)
        previous = matchings.match(keep, previous)
        per_image_k = [np.bincount(data.dt_image[m], minlength=data.num_images)
                       for m in (fresh[0], previous[0])]
        np.testing.assert_array_equal(per_image_k[0], per_image_k[1])
        assert jaccard.jaccard_at(data, overlaps, keep, *previous) == pytest.approx(
            jaccard.jaccard_at(data, overlaps, keep, *fresh), abs=1e-12)


def overlap(a, b, iou):
    """The official overlap formula on two corner boxes, in plain Python floats."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, iw) * max(0.0, ih)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter + 1e-6) if iou else inter / (area_a + 1e-6)


def greedy_reference(data):
    """Caltech matching written image by image, detection by detection, from its definition."""
    labels = np.zeros(len(data.dt_scores), dtype=np.int8)
    for image in range(data.num_images):
        dets = np.flatnonzero(data.dt_image == image)
        gts = np.flatnonzero(data.gt_image == image).tolist()
        taken = set()
        for d in dets[np.argsort(-data.dt_scores[dets], kind="stable")].tolist():
            box = data.dt_boxes[d].tolist()
            best, best_iou = None, 0.5
            for g in gts:
                if not data.gt_ignore[g] and g not in taken:
                    value = overlap(box, data.gt_boxes[g].tolist(), iou=True)
                    if value > best_iou:
                        best, best_iou = g, value
            if best is not None:
                taken.add(best)
                labels[d] = 1
            elif any(overlap(box, data.gt_boxes[g].tolist(), iou=False) > 0.5
                     for g in gts if data.gt_ignore[g]):
                labels[d] = -1
    return labels


def test_rank_by_rank_greedy_matching_equals_the_per_detection_loop(crowd):
    data = eval_set(crowd)
    labels = matching.caltech_match(data, matching.compute_overlaps(data),
                                    matching.score_order(data))
    reference = greedy_reference(data)
    np.testing.assert_array_equal(labels, reference)
    assert {-1, 0, 1} <= set(reference.tolist())  # the case exercises all three outcomes
