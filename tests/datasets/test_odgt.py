"""load_odgt / record_boxes on small hand-written odgt files, one test per bad-input case."""
import json

import numpy as np
import pytest

from dsla.datasets.odgt import OdgtFormatError, load_odgt, record_boxes


def person(fbox, **extra):
    return {"tag": "person", "fbox": fbox, "vbox": fbox, "hbox": [fbox[0], fbox[1], 5, 5],
            "extra": {"ignore": 0, "occ": 0, **extra}}


GOOD = [
    {"ID": "a", "width": 100, "height": 80,
     "gtboxes": [person([10, 20, 30, 40]),
                 {"tag": "mask", "fbox": [0, 0, 5, 5], "extra": {"ignore": 1}}]},
    {"ID": "b", "gtboxes": []},
    {"ID": "c", "gtboxes": [person([-5, 1, 10, 10], ignore=1)]},
]


def write_lines(tmp_path, lines, name="ann.odgt"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def write_records(tmp_path, records):
    return write_lines(tmp_path, [json.dumps(r) for r in records])


def test_load_odgt_reads_records_in_order_and_skips_blank_lines(tmp_path):
    lines = [json.dumps(GOOD[0]), "", json.dumps(GOOD[1]), "   ", json.dumps(GOOD[2])]
    records = load_odgt(write_lines(tmp_path, lines))
    assert [r["ID"] for r in records] == ["a", "b", "c"]
    assert records[0]["gtboxes"][0]["fbox"] == [10, 20, 30, 40]


def test_record_boxes_returns_xyxy_float64_and_ignore_flags():
    boxes, ignore = record_boxes(GOOD[0])
    assert boxes.dtype == np.float64 and boxes.shape == (2, 4)
    np.testing.assert_array_equal(boxes, [[10, 20, 40, 60], [0, 0, 5, 5]])
    np.testing.assert_array_equal(ignore, [False, True])
    hboxes, _ = record_boxes(GOOD[0] | {"gtboxes": GOOD[0]["gtboxes"][:1]}, box_key="hbox")
    np.testing.assert_array_equal(hboxes, [[10, 20, 15, 25]])


def test_record_boxes_extra_ignore_marks_a_person_as_ignore_and_empty_record_gives_empty_arrays():
    _, ignore = record_boxes(GOOD[2])
    assert ignore.tolist() == [True]
    boxes, ignore = record_boxes(GOOD[1])
    assert boxes.shape == (0, 4) and boxes.dtype == np.float64 and ignore.shape == (0,)


def test_record_boxes_missing_box_key_names_the_record():
    with pytest.raises(KeyError, match="'a'.*vbox"):
        record_boxes(GOOD[0], box_key="vbox")


def assert_error(path, line, fragment):
    with pytest.raises(OdgtFormatError) as info:
        load_odgt(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message, message
    assert info.value.line == line


def test_malformed_json_line(tmp_path):
    path = write_lines(tmp_path, [json.dumps(GOOD[0]), '{"ID": "x", "gtboxes": [}'])
    assert_error(path, 2, "malformed JSON")


def test_line_that_is_not_an_object(tmp_path):
    assert_error(write_lines(tmp_path, ["[1, 2]"]), 1, "expected a JSON object")


def test_missing_id(tmp_path):
    assert_error(write_records(tmp_path, [{"gtboxes": []}]), 1, "no 'ID'")


def test_missing_gtboxes(tmp_path):
    assert_error(write_records(tmp_path, [GOOD[1], {"ID": "z"}]), 2, "no 'gtboxes'")


def test_missing_fbox(tmp_path):
    record = {"ID": "z", "gtboxes": [person([1, 1, 2, 2]), {"tag": "person", "vbox": [1, 1, 2, 2]}]}
    assert_error(write_records(tmp_path, [record]), 1, "gtboxes[1] has no 'fbox'")


@pytest.mark.parametrize("fbox", [[1, 1, 0, 5], [1, 1, 5, -2]])
def test_non_positive_width_or_height(tmp_path, fbox):
    record = {"ID": "z", "gtboxes": [person(fbox)]}
    assert_error(write_records(tmp_path, [record]), 1, "non-positive width or height")


@pytest.mark.parametrize("fbox", [[1, 2, 3], [1, 2, "3", 4], [1, 2, float("nan"), 4]])
def test_box_that_is_not_four_finite_numbers(tmp_path, fbox):
    record = {"ID": "z", "gtboxes": [{"tag": "person", "fbox": fbox}]}
    assert_error(write_records(tmp_path, [record]), 1, "4 finite numbers")


def test_box_entirely_outside_the_image(tmp_path):
    record = {"ID": "z", "width": 50, "height": 50, "gtboxes": [person([60, 10, 5, 5])]}
    assert_error(write_records(tmp_path, [record]), 1, "entirely outside the 50x50 image")


def test_bad_image_size(tmp_path):
    assert_error(write_records(tmp_path, [{"ID": "z", "width": 0, "height": 5, "gtboxes": []}]),
                 1, "'width' must be a positive integer")


def test_duplicated_id(tmp_path):
    path = write_records(tmp_path, [GOOD[0], GOOD[1], GOOD[0]])
    assert_error(path, 3, "duplicated ID 'a' (first seen on line 1)")


def test_empty_file(tmp_path):
    assert_error(write_lines(tmp_path, ["", " "]), 0, "empty annotation file")


def test_missing_file(tmp_path):
    assert_error(tmp_path / "nope.odgt", 0, "not found")


@pytest.mark.parametrize("flag, expected", [(0, False), (1, True), (2, True), (-1, True)])
def test_any_non_zero_extra_ignore_marks_an_ignore_region_as_the_official_toolkit_does(flag, expected):
    record = {"ID": "x", "gtboxes": [{"tag": "person", "fbox": [0, 0, 4, 4], "extra": {"ignore": flag}}]}
    _, ignore = record_boxes(record)
    assert ignore.tolist() == [expected]
