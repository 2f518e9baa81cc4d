"""Table 1 statistics on hand-written odgt and COCO data."""
import json

import numpy as np
import pytest

from dsla.datasets.density import coco_density, file_density, odgt_density, overlapping_pairs


def test_overlapping_pairs_counts_iou_strictly_above_threshold():
    square = [0, 0, 10, 10]
    iou_half = [0, 0, 10, 5]          # IoU with `square` = 50 / 100 = 0.5: not counted
    iou_high = [0, 0, 10, 8]          # IoU with `square` 0.8, with `iou_half` 0.625
    far = [50, 50, 60, 60]
    assert overlapping_pairs(np.array([square, iou_half])) == 0
    assert overlapping_pairs(np.array([square, iou_half, iou_high, far])) == 2
    assert overlapping_pairs(np.zeros((0, 4))) == 0


def person(fbox, ignore=0, tag="person"):
    return {"tag": tag, "fbox": fbox, "extra": {"ignore": ignore}}


def test_odgt_density_counts_persons_only_and_skips_ignore_regions():
    records = [
        {"ID": "a", "gtboxes": [person([0, 0, 10, 10]), person([1, 0, 10, 10]),
                                person([0, 0, 10, 10], ignore=1),     # ignore: not counted
                                person([0, 0, 10, 10], tag="mask")]},  # mask: not counted
        {"ID": "b", "gtboxes": [person([0, 0, 10, 10]), person([30, 0, 10, 10])]},
        {"ID": "c", "gtboxes": []},
    ]
    stats = odgt_density(records)
    assert stats["objects"] == 4 and stats["objects_per_image"] == pytest.approx(4 / 3)
    assert stats["overlapping_pairs"] == 1 and stats["overlaps_per_image"] == pytest.approx(1 / 3)


def coco_file(tmp_path):
    coco = {
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 100}
                   for i in (1, 2, 3, 4)],
        "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"},
                       {"id": 3, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 0, 10, 10], "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 10], "iscrowd": 0},
            {"id": 4, "image_id": 2, "category_id": 2, "bbox": [5, 5, 20, 20], "iscrowd": 0},
            {"id": 5, "image_id": 2, "category_id": 2, "bbox": [5, 5, 20, 20], "iscrowd": 1},
            {"id": 6, "image_id": 3, "category_id": 2, "bbox": [0, 0, 8, 8], "iscrowd": 0},
            {"id": 7, "image_id": 3, "category_id": 2, "bbox": [0, 0, 8, 7], "iscrowd": 0},
        ]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    return coco, path


def test_coco_density_averages_same_category_overlaps_over_categories(tmp_path):
    coco, _ = coco_file(tmp_path)
    stats = coco_density(coco)
    # 6 non-crowd boxes / 4 images; pairs: person in image 1, car in image 3 (the person-car
    # pair of image 1 is not counted, and the crowd box of image 2 is skipped).
    assert stats["objects_per_image"] == pytest.approx(6 / 4)
    assert stats["overlaps_per_image_all_categories"] == pytest.approx(2 / 4)
    assert stats["overlaps_per_image"] == pytest.approx(2 / (4 * 3))
    assert stats["per_category"]["car"] == {"objects_per_image": 4 / 4, "overlaps_per_image": 1 / 4}
    assert stats["per_category"]["dog"] == {"objects_per_image": 0.0, "overlaps_per_image": 0.0}


def test_file_density_reads_odgt_and_coco(tmp_path):
    _, coco_path = coco_file(tmp_path)
    assert file_density(coco_path)["format"] == "coco"
    odgt = tmp_path / "a.odgt"
    odgt.write_text(json.dumps({"ID": "x", "gtboxes": [person([0, 0, 5, 5])]}) + "\n")
    stats = file_density(odgt)
    assert stats["format"] == "odgt" and stats["objects_per_image"] == 1.0
