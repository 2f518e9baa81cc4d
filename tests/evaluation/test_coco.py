"""coco_ap: COCO AP / AP50 / AP75 through pycocotools on a hand-checked two-image case."""
import json

import pytest

from dsla.evaluation.coco import coco_ap


@pytest.fixture
def gt_json(tmp_path):
    ground_truth = {
        "images": [{"id": 1, "width": 200, "height": 200, "file_name": "1.jpg"},
                   {"id": 2, "width": 200, "height": 200, "file_name": "2.jpg"}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 100],
             "area": 10000, "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [50, 50, 50, 100],
             "area": 5000, "iscrowd": 0}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(ground_truth))
    return path


def write_results(tmp_path, results):
    path = tmp_path / "dt.json"
    path.write_text(json.dumps(results))
    return path


def result(image_id, bbox, score):
    return {"image_id": image_id, "category_id": 1, "bbox": bbox, "score": score}


def test_perfect_detections_score_one(tmp_path, gt_json):
    dt = write_results(tmp_path, [result(1, [0, 0, 100, 100], 0.9),
                                  result(2, [50, 50, 50, 100], 0.8)])
    assert coco_ap(gt_json, dt) == pytest.approx({"AP": 1.0, "AP50": 1.0, "AP75": 1.0})


def test_a_loose_box_counts_up_to_its_iou(tmp_path, gt_json):
    # image 2 exact (score 0.9); image 1 at IoU 0.64 (score 0.8): a match for IoU thresholds
    # 0.50, 0.55, 0.60 (AP 1 there); for the 7 thresholds 0.65 .. 0.95 recall stops at 1/2 with
    # precision 1, i.e. 51 of the 101 recall points -> AP 51/101.
    dt = write_results(tmp_path, [result(1, [0, 0, 100, 64], 0.8),
                                  result(2, [50, 50, 50, 100], 0.9)])
    scores = coco_ap(gt_json, dt)
    assert scores["AP50"] == pytest.approx(1.0)
    assert scores["AP75"] == pytest.approx(51 / 101)
    assert scores["AP"] == pytest.approx((3 + 7 * 51 / 101) / 10)


def test_no_detection_scores_zero_and_unknown_ids_are_errors(tmp_path, gt_json):
    assert coco_ap(gt_json, write_results(tmp_path, [])) == {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    with pytest.raises(ValueError, match=r"dt\.json: results name image ids \[7\]"):
        coco_ap(gt_json, write_results(tmp_path, [result(7, [0, 0, 10, 10], 0.5)]))
