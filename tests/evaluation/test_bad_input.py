"""Bad detection input gives a clear error naming the record (file:line or dt_records[i])."""
import json

import pytest

from dsla.datasets.odgt import OdgtFormatError
from dsla.evaluation.crowdhuman import evaluate, evaluate_files
from dsla.evaluation.detections import DetectionFormatError

GT = [{"ID": "a", "gtboxes": [{"tag": "person", "fbox": [0, 0, 10, 20]}]},
      {"ID": "b", "gtboxes": [{"tag": "person", "fbox": [5, 5, 10, 20]}]}]


def dt(image_id, *boxes, **size):
    return {"ID": image_id, "width": 100, "height": 100, **size,
            "dtboxes": [{"box": box, "score": score, "tag": 1} for box, score in boxes]}


GOOD = [dt("a", ([0, 0, 10, 20], 0.9)), dt("b")]


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.fixture
def gt_file(tmp_path):
    return write(tmp_path, "gt.odgt", [json.dumps(r) for r in GT])


def evaluate_lines(tmp_path, gt_file, lines):
    return evaluate_files(gt_file, write(tmp_path, "dt.odgt", lines))


def test_good_input_evaluates(tmp_path, gt_file):
    result = evaluate_lines(tmp_path, gt_file, [json.dumps(r) for r in GOOD])
    assert result["Recall"] == 0.5


@pytest.mark.parametrize("bad_line, message", [
    (json.dumps(dt("zzz")), r"dt\.odgt:2 \(ID 'zzz'\): ID not in the ground truth"),
    ('{"ID": "b", "width": 100, "height": 100, "dtboxes": [{"box": [1, 2, 3, 4], '
     '"score": NaN, "tag": 1}]}', r"dt\.odgt:2 \(ID 'b'\): dtboxes\[0\] has a non-finite score"),
    (json.dumps(dt("b", ([1, 2, 3, 4], 0.5), ([float("nan"), 2, 3, 4], 0.4))),
     r"dt\.odgt:2 \(ID 'b'\): dtboxes\[1\] has a non-finite coordinate"),
    (json.dumps(dt("b", ([10, 10, -3, 4], 0.5))),
     r"dt\.odgt:2 \(ID 'b'\): dtboxes\[0\] has a negative size \(w=-3, h=4"),
    ('{"ID": "b", "dtboxes": [}', r"dt\.odgt:2: malformed JSON"),
    (json.dumps({"ID": "b", "dtboxes": {"box": [1, 2, 3, 4]}}),
     r"dt\.odgt:2 \(ID 'b'\): 'dtboxes' must be a list"),
    (json.dumps({"ID": "b", "width": 100, "height": 100, "dtboxes": [{"box": [1, 2, 3, 4]}]}),
     r"dt\.odgt:2 \(ID 'b'\): every dtbox must be .*KeyError: 'score'"),
    (json.dumps({"ID": "b", "width": 100, "height": 100,
                 "dtboxes": [{"box": [1, 2, 3], "score": 0.3}]}),
     r"dt\.odgt:2 \(ID 'b'\): every dtbox must be"),
    (json.dumps(dt("b", ([1, 2, 3, 4], 0.5)) | {"dtboxes": [
        {"box": [1, 2, 3, 4], "score": 0.5, "tag": 2}]}),
     r"dt\.odgt:2 \(ID 'b'\): dtbox tags must be 1"),
    (json.dumps(dt("b", width=0)), r"dt\.odgt:2 \(ID 'b'\): 'width' must be a positive integer"),
    (json.dumps({"dtboxes": []}), r"dt\.odgt:2: 'ID' must be a non-empty string"),
    (json.dumps(dt("a")), r"dt\.odgt:2 \(ID 'a'\): duplicated ID \(first in .*dt\.odgt:1\)"),
])
def test_bad_detection_line_is_named(tmp_path, gt_file, bad_line, message):
    with pytest.raises(DetectionFormatError, match=message):
        evaluate_lines(tmp_path, gt_file, [json.dumps(GOOD[0]), bad_line])


def test_ground_truth_image_without_a_detection_record(tmp_path, gt_file):
    with pytest.raises(DetectionFormatError, match=r"no record for 1 ground-truth image.*'b'"):
        evaluate_lines(tmp_path, gt_file, [json.dumps(GOOD[0])])


def test_unknown_image_size_is_an_error_because_boxes_are_clipped(tmp_path, gt_file):
    no_size = {"ID": "b", "dtboxes": []}
    with pytest.raises(DetectionFormatError, match=r"dt\.odgt:2 \(ID 'b'\): image size unknown"):
        evaluate_lines(tmp_path, gt_file, [json.dumps(GOOD[0]), json.dumps(no_size)])
    # the ground truth may give the size instead
    gt_with_size = write(tmp_path, "gt_size.odgt", [json.dumps(GT[0]), json.dumps(
        GT[1] | {"width": 100, "height": 100})])
    assert evaluate_lines(tmp_path, gt_with_size, [json.dumps(GOOD[0]), json.dumps(no_size)])


def test_missing_detection_file_and_bad_ground_truth_name_their_file(tmp_path, gt_file):
    with pytest.raises(DetectionFormatError, match=r"nope\.odgt:0: detection file not found"):
        evaluate_files(gt_file, tmp_path / "nope.odgt")
    bad_gt = write(tmp_path, "bad_gt.odgt", [json.dumps(GT[0]), '{"ID": "b"}'])
    with pytest.raises(OdgtFormatError, match=r"bad_gt\.odgt:2: "):
        evaluate_lines(tmp_path, bad_gt, [json.dumps(r) for r in GOOD])


def test_in_memory_records_are_named_by_position():
    with pytest.raises(DetectionFormatError, match=r"dt_records\[1\] \(ID 'b'\): .*non-finite"):
        evaluate(GT, [GOOD[0], dt("b", ([1, 2, 3, 4], float("inf")))])
