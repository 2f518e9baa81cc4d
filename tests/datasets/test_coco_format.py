"""load_coco validation (one test per bad input) and odgt -> COCO conversion."""
import json

import pytest

from dsla.datasets.coco_format import CocoFormatError, load_coco, odgt_to_coco

GOOD = {"images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]}


def write(tmp_path, data):
    path = tmp_path / "ann.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def with_annotation(**changes):
    return {**GOOD, "annotations": [{**GOOD["annotations"][0], **changes}]}


def test_reads_a_valid_file(tmp_path):
    assert load_coco(write(tmp_path, GOOD)) == GOOD


@pytest.mark.parametrize("data, message", [
    ('{"images": [\n  }', "ann.json:2: malformed JSON"),
    ({"images": [], "annotations": []}, "missing ['categories']"),
    ({**GOOD, "images": GOOD["images"] * 2}, "images[1]: duplicated image id 1"),
    (with_annotation(image_id=9), "annotations[0] (id 7): image_id 9 is not in 'images'"),
    (with_annotation(category_id=3), "annotations[0] (id 7): category_id 3 is not in"),
    (with_annotation(bbox=[1, 2, 3]), "annotations[0] (id 7): bbox must be 4 finite numbers"),
    (with_annotation(bbox=[1, 2, 0, 4]), "annotations[0] (id 7): bbox has non-positive width"),
])
def test_bad_input_names_file_and_entry(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(CocoFormatError) as info:
        load_coco(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CocoFormatError, match="not found"):
        load_coco(tmp_path / "none.json")


def test_odgt_to_coco_maps_tags_to_categories_and_ignore_to_iscrowd():
    records = [{"ID": "r1", "width": 30, "height": 20, "gtboxes": [
        {"tag": "b", "fbox": [1, 2, 3, 4], "vbox": [1, 2, 3, 3]},
        {"tag": "mask", "fbox": [0, 0, 5, 5], "extra": {"ignore": 1}},
        {"tag": "a", "fbox": [2, 2, 2, 2], "extra": {"ignore": 1}}]}]
    coco = odgt_to_coco(records, ("a", "b"), [11])
    assert coco["images"] == [{"id": 11, "file_name": "r1.jpg", "width": 30, "height": 20}]
    assert coco["categories"] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    anns = coco["annotations"]
    assert [(a["category_id"], a["iscrowd"], a["bbox"]) for a in anns] == [
        (2, 0, [1, 2, 3, 4]), (1, 1, [0, 0, 5, 5]), (1, 1, [2, 2, 2, 2])]
    assert anns[0]["vbox"] == [1, 2, 3, 3] and anns[0]["area"] == 12


def test_odgt_to_coco_rejects_an_unknown_class():
    records = [{"ID": "r1", "width": 30, "height": 20,
                "gtboxes": [{"tag": "z", "fbox": [1, 1, 2, 2]}]}]
    with pytest.raises(ValueError, match="tag 'z' is not one of"):
        odgt_to_coco(records, ("a",), [1])
