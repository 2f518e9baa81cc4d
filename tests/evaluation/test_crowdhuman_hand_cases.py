"""CrowdHuman AP, MR^-2, JI and Recall on tiny cases worked out by hand (official definitions)."""
import math

import pytest

from dsla.evaluation.crowdhuman import evaluate


def person(x, y, w, h, ignore=0):
    return {"tag": "person", "fbox": [x, y, w, h], "hbox": [x, y, 1, 1],
            "extra": {"ignore": ignore}}


def mask(x, y, w, h):
    return {"tag": "mask", "fbox": [x, y, w, h], "hbox": [x, y, 1, 1], "extra": {"ignore": 1}}


def det(x, y, w, h, score):
    return {"box": [x, y, w, h], "score": score, "tag": 1}


def dt_record(image_id, *dets, width=100, height=100):
    return {"ID": image_id, "width": width, "height": height, "dtboxes": list(dets)}


# Three 100x100 images.
#   a: people P1, P2 and an ignore region M.  d1 = P1 (0.95, TP); d2 on P1 again (IoU 0.9, 0.75:
#      P1 is taken -> FP); d3 inside M (0.70, IoA 1 -> ignored); d4 = P2 (0.55, TP).
#   b: one person P3, no detection (a miss).
#   c: no ground truth; d5 (0.85) is a false positive.
CASE_GT = [
    {"ID": "a", "gtboxes": [person(0, 0, 10, 20), person(50, 0, 10, 20), mask(70, 70, 30, 30)]},
    {"ID": "b", "gtboxes": [person(10, 10, 20, 40)]},
    {"ID": "c", "gtboxes": []},
]
CASE_DT = [
    dt_record("a", det(0, 0, 10, 20, 0.95), det(0, 0, 10, 18, 0.75), det(75, 75, 10, 10, 0.70),
              det(50, 0, 10, 20, 0.55)),
    dt_record("b"),
    dt_record("c", det(0, 0, 10, 10, 0.85)),
]


@pytest.fixture(scope="module")
def case_result():
    return evaluate(CASE_GT, CASE_DT)


def test_ap_is_the_trapezoid_area_between_consecutive_detections(case_result):
    # kept list by score: d1 TP, d5 FP, d2 FP, d4 TP (d3 ignored); 3 non-ignored people
    # recall 1/3 1/3 1/3 2/3, precision 1 1/2 1/3 1/2; only the last step adds area:
    # (2/3 - 1/3) * (1/3 + 1/2) / 2 = 5/36 (no point at recall 0, as the official toolkit)
    assert case_result["AP"] == pytest.approx(5 / 36, abs=1e-12)


def test_recall_uses_all_detections(case_result):
    assert case_result["Recall"] == pytest.approx(2 / 3, abs=1e-12)


def test_mr2_reads_the_first_point_reaching_each_fppi_and_the_last_point_beyond_the_curve(
        case_result):
    # FPPI = FP / 3 images: 0, 1/3, 2/3, 2/3; miss rate 2/3, 2/3, 2/3, 1/3.
    # References 0.01 .. 0.3162 -> first FPPI >= ref is 1/3 (miss 2/3); 0.5623 -> 2/3 (miss 2/3);
    # 1.0 is never reached -> last point (miss 1/3).
    expected = math.exp((8 * math.log(2 / 3) + math.log(1 / 3)) / 9)
    assert case_result["MR2"] == pytest.approx(expected, abs=1e-12)


def test_ji_is_the_best_threshold_and_skips_images_with_nothing_left(case_result):
    # t <= 0.5: a: k=2, n=4-1 (d3 on the ignore region), m=2 -> 2/3; b: 0 (m=1); c: 0 (n=1)
    #           -> (2/3)/3 = 2/9
    # t = 0.6, 0.7: a: k=1, n=2, m=2 -> 1/3 -> 1/9;  t = 0.8: a: k=1, n=1 -> 1/2 -> 1/6
    # t = 0.9: only d1 left; c has m = n = 0 and is not counted -> (1/2)/2 = 1/4 (the best)
    assert case_result["JI"] == pytest.approx(1 / 4, abs=1e-5)


def test_detection_boxes_and_ground_truth_are_clipped_to_the_image():
    # the person reaches 50 px left of the image: clipped to [0, 50] it equals the detection;
    # unclipped the IoU would be 0.5 (not a match)
    gt = [{"ID": "a", "gtboxes": [person(-50, 0, 100, 100)]}]
    result = evaluate(gt, [dt_record("a", det(0, 0, 50, 100, 0.9))])
    assert result["Recall"] == 1.0 and result["JI"] == pytest.approx(1.0, abs=1e-5)
    assert result["AP"] == 0.0  # a single point on the PR curve encloses no area
    # a detection running past the right border is clipped back to it: [60, 100] = the person
    gt = [{"ID": "a", "gtboxes": [person(60, 0, 40, 100)]}]
    assert evaluate(gt, [dt_record("a", det(60, 0, 80, 100, 0.9))])["Recall"] == 1.0


def test_iou_must_exceed_one_half_and_the_best_free_person_is_taken():
    gt = [{"ID": "a", "gtboxes": [person(0, 0, 10, 10)]}]
    # IoU exactly 0.5 (100 / 200) is not a match
    assert evaluate(gt, [dt_record("a", det(0, 0, 10, 20, 0.9))])["Recall"] == 0.0
    # a detection over two people (IoU 0.54 with the first, 0.82 with the second) takes the
    # second, so the later detection on the first person (IoU 0.43 with the second) is a true
    # positive too: recall 1/2, 1; precision 1, 1 -> AP 1/2
    gt = [{"ID": "a", "gtboxes": [person(0, 0, 10, 10), person(4, 0, 10, 10)]}]
    dets = dt_record("a", det(3, 0, 10, 10, 0.9), det(0, 0, 10, 10, 0.8))
    result = evaluate(gt, [dets])
    assert result["Recall"] == 1.0 and result["AP"] == pytest.approx(0.5, abs=1e-12)


def test_higher_score_matches_first_even_with_lower_iou():
    # d_hi (0.9, IoU 0.6) takes the person; d_lo (0.8, IoU 1.0) becomes a false positive:
    # recall 1, 1; precision 1, 1/2 -> AP 0 (no recall gained after the first point)
    gt = [{"ID": "a", "gtboxes": [person(0, 0, 10, 10)]}]
    dets = dt_record("a", det(0, 0, 10, 6, 0.9), det(0, 0, 10, 10, 0.8))
    result = evaluate(gt, [dets])
    assert result["Recall"] == 1.0 and result["AP"] == 0.0
    assert result["MR2"] == 0.0  # miss rate 0 from the first detection on


def test_ties_in_score_follow_the_ground_truth_file_order():
    # one person per image; a false positive in "x" and a true positive in "y", same score.
    # x first: FP then TP -> recall 0, 1/2; precision 0, 1/2 -> AP = 1/2 * 1/4 = 1/8;
    # y first: TP then FP -> no recall gained after the first point -> AP = 0.
    gt = {i: {"ID": i, "gtboxes": [person(0, 0, 10, 10)]} for i in "xy"}
    dts = [dt_record("y", det(0, 0, 10, 10, 0.5)), dt_record("x", det(50, 50, 10, 10, 0.5))]
    assert evaluate([gt["x"], gt["y"]], dts)["AP"] == pytest.approx(1 / 8, abs=1e-12)
    assert evaluate([gt["y"], gt["x"]], dts)["AP"] == 0.0


def test_image_with_only_ignore_regions():
    # "a": only an ignore region (a person with extra.ignore and a mask); a detection on it is
    # ignored, one elsewhere is a false positive; "b" holds the only person, found.
    gt = [{"ID": "a", "gtboxes": [person(0, 0, 20, 40, ignore=1), mask(50, 50, 40, 40)]},
          {"ID": "b", "gtboxes": [person(0, 0, 10, 10)]}]
    dts = [dt_record("a", det(55, 55, 20, 20, 0.9), det(0, 0, 20, 40, 0.8),
                     det(20, 60, 5, 5, 0.3)),
           dt_record("b", det(0, 0, 10, 10, 0.6))]
    # kept list: b TP (0.6), a FP (0.3) -> recall 1, 1 -> AP 0 after the first point
    result = evaluate(gt, dts)
    assert result["Recall"] == 1.0 and result["AP"] == 0.0
    # JI at t <= 0.2: a: k=0, m=0, n=1 -> 0; b: 1 -> 1/2.  t in 0.3 .. 0.5: the 0.3 detection
    # is gone (score must exceed t; 1e-1 * 3 > 0.3), a has m = n = 0 and is not counted -> 1
    assert result["JI"] == pytest.approx(1.0, abs=1e-5)


def test_ji_unmatched_person_on_an_ignore_region_leaves_m():
    # the second person lies inside the mask and is not detected: m = 1, not 2
    gt = [{"ID": "a", "gtboxes": [person(0, 0, 10, 10), person(60, 60, 10, 10),
                                  mask(50, 50, 40, 40)]}]
    result = evaluate(gt, [dt_record("a", det(0, 0, 10, 10, 0.9))])
    assert result["JI"] == pytest.approx(1.0, abs=1e-5)
    assert result["Recall"] == 0.5  # recall still counts every non-ignored person


def test_ji_uses_maximum_weight_not_maximum_cardinality_matching():
    # people X, Y, Z side by side (IoU(X, Y) = IoU(Y, Z) = 2/3), detections A = X, B = Y and a
    # loose C overlapping only X (IoU 0.54). Maximum weight keeps A-X, B-Y (total 2.0, k = 2):
    # JI = 2 / (3 + 3 - 2) = 1/2. Maximum cardinality (mmdet) would take C-X, A-Y, B-Z (k = 3).
    gt = [{"ID": "a", "gtboxes": [person(40, 0, 100, 100), person(60, 0, 100, 100),
                                  person(80, 0, 100, 100)]}]
    dts = [dt_record("a", det(40, 0, 100, 100, 0.9), det(60, 0, 100, 100, 0.9),
                     det(10, 0, 100, 100, 0.9), width=200)]
    assert evaluate(gt, dts)["JI"] == pytest.approx(0.5, abs=1e-5)


def test_no_detection_at_all_gives_zero_ap_and_recall_and_mr_one():
    gt = [{"ID": "a", "gtboxes": [person(0, 0, 10, 10)]}]
    result = evaluate(gt, [dt_record("a")])
    assert result == {"AP": 0.0, "MR2": 1.0, "JI": 0.0, "Recall": 0.0}


def test_no_ground_truth_person_at_all_is_an_error():
    gt = [{"ID": "a", "gtboxes": [mask(0, 0, 10, 10)]}]
    with pytest.raises(ValueError, match="no non-ignored ground-truth box"):
        evaluate(gt, [dt_record("a", det(0, 0, 10, 10, 0.9))])
