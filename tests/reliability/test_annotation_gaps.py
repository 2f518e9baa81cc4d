"""Annotation files that the official tools would misread or crash on get one line with file:line.

The official CrowdHuman evaluation and CrowdDet's loader read ``rb['tag']`` unconditionally and
treat ``extra['ignore'] != 0`` as an ignore region, so a box without a tag crashes them and
``"ignore": "0"`` (a string) silently turns a person into an ignore region. Both are rejected
here with the file and line; a UTF-8 byte-order mark (Windows editors write one) is accepted; a
byte that is not UTF-8 is named with its line.
"""
from __future__ import annotations

import json

import pytest

from dsla.datasets.coco_format import CocoFormatError, load_coco
from dsla.datasets.density import file_density
from dsla.datasets.odgt import OdgtFormatError, load_odgt
from pipeline.commands.data import _density

PERSON = {"tag": "person", "fbox": [10, 10, 20, 40], "extra": {"ignore": 0}}


def odgt(tmp_path, *records, raw: bytes = b"") -> str:
    path = tmp_path / "ann.odgt"
    path.write_bytes(raw + b"".join(json.dumps(r).encode() + b"\n" for r in records))
    return str(path)


def cli_density(path, capsys) -> str:
    """`pipeline data density PATH`: exit 2 and exactly one stderr line."""
    import argparse

    code = _density(argparse.Namespace(path=path, data_command="density"))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    return err


def test_a_box_without_tag_is_a_file_line_error_in_data_density(tmp_path, capsys):
    path = odgt(tmp_path, {"ID": "a", "gtboxes": [PERSON]},
                {"ID": "b", "gtboxes": [PERSON, {"fbox": [1, 1, 5, 5]}]})
    err = cli_density(path, capsys)
    assert f"{path}:2:" in err and "gtboxes[1]" in err and "'tag'" in err


@pytest.mark.parametrize("value", ["0", "1", None, 0.5, True])
def test_a_non_integer_extra_ignore_is_rejected_not_given_a_meaning(tmp_path, value):
    box = {**PERSON, "extra": {"ignore": value}}
    path = odgt(tmp_path, {"ID": "a", "gtboxes": [PERSON]}, {"ID": "b", "gtboxes": [box]})
    with pytest.raises(OdgtFormatError, match=r"ann\.odgt:2: .*extra\.ignore must be an integer"):
        load_odgt(path)


def test_integer_extra_ignore_follows_the_official_non_zero_rule(tmp_path):
    people = [PERSON, {**PERSON, "fbox": [100, 10, 20, 40], "extra": {"ignore": 1}},
              {**PERSON, "fbox": [200, 10, 20, 40], "extra": {"ignore": 2}}]
    stats = file_density(odgt(tmp_path, {"ID": "a", "gtboxes": people}))
    assert stats["objects"] == 1


def test_a_utf8_byte_order_mark_is_accepted_in_odgt_and_coco(tmp_path):
    path = odgt(tmp_path, {"ID": "a", "gtboxes": [PERSON]}, raw=b"\xef\xbb\xbf")
    assert [r["ID"] for r in load_odgt(path)] == ["a"]
    assert file_density(path)["objects"] == 1
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "p"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]}]}
    coco_path = tmp_path / "ann.json"
    coco_path.write_bytes(b"\xef\xbb\xbf" + json.dumps(coco).encode())
    assert load_coco(coco_path)["images"][0]["file_name"] == "a.jpg"


def test_a_non_utf8_byte_names_file_and_line_in_odgt(tmp_path, capsys):
    path = odgt(tmp_path, {"ID": "a", "gtboxes": [PERSON]})
    with open(path, "ab") as handle:
        handle.write(b'{"ID": "caf\xe9", "gtboxes": []}\n')           # latin-1, not UTF-8
    err = cli_density(path, capsys)
    assert f"{path}:2: not UTF-8 (byte 0xe9" in err


def test_a_non_utf8_byte_names_file_and_line_in_coco(tmp_path, capsys):
    path = tmp_path / "ann.json"
    path.write_bytes(b'{"images": [],\n "annotations": [],\n "categories": [{"id": 1, "name": "caf\xe9"}]}')
    with pytest.raises(CocoFormatError, match=r"ann\.json:3: not UTF-8 \(byte 0xe9\)"):
        load_coco(path)
    err = cli_density(str(path), capsys)
    assert f"{path}:3: not UTF-8" in err
