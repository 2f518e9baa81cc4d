"""Hostile or broken data is refused with an error naming the file (and line), before it costs
gigabytes: a zero-byte image, a huge image, an image with absurdly many boxes, a garbage odgt; and
Table 1's overlap count stays O(n) in memory per image (chunked), not O(n²)."""
from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from dsla.datasets import density
from dsla.datasets.odgt import OdgtFormatError, load_odgt
from tests.datasets.test_mmdet_datasets import box, coco_dataset, crowdhuman, write_image, write_odgt

pytestmark = pytest.mark.usefixtures("mmdet_scope")


def test_a_zero_byte_image_names_the_file_and_line(tmp_path):
    write_image(tmp_path / "Images" / "a.jpg")
    (tmp_path / "Images" / "empty.jpg").write_bytes(b"")
    write_odgt(tmp_path / "ann.odgt", [{"ID": "a", "gtboxes": [box([1, 1, 5, 5])]},
                                       {"ID": "empty", "width": 40, "height": 30, "gtboxes": [box([1, 1, 5, 5])]}])
    with pytest.raises(OdgtFormatError, match=r"ann.odgt:2: image .*Images/empty.jpg is empty \(0 bytes\)"):
        crowdhuman(tmp_path, "ann.odgt")


def test_a_huge_image_is_refused_from_its_header(tmp_path, monkeypatch):
    monkeypatch.setenv("DSLA_MAX_IMAGE_PIXELS", "1000")
    write_image(tmp_path / "Images" / "big.jpg", size=(40, 30))  # 1200 pixels > 1000
    write_odgt(tmp_path / "ann.odgt", [{"ID": "big", "width": 40, "height": 30, "gtboxes": [box([1, 1, 5, 5])]}])
    with pytest.raises(OdgtFormatError, match=r"ann.odgt:1: image .*big.jpg is 40x30 pixels, more than the limit "
                                              r"1000 \(DSLA_MAX_IMAGE_PIXELS\)"):
        crowdhuman(tmp_path, "ann.odgt")
    monkeypatch.setenv("DSLA_MAX_IMAGE_PIXELS", "2000")
    assert len(crowdhuman(tmp_path, "ann.odgt")) == 1, "the limit is configurable"


def test_too_many_boxes_in_one_image_are_refused_with_file_and_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DSLA_MAX_BOXES_PER_IMAGE", "50")
    write_odgt(tmp_path / "ann.odgt", [{"ID": "a", "gtboxes": [box([1, 1, 5, 5])] * 10},
                                       {"ID": "b", "gtboxes": [box([1, 1, 5, 5])] * 51}])
    with pytest.raises(OdgtFormatError, match=r"ann.odgt:2: record 'b' has 51 boxes, more than the limit 50 "
                                              r"\(DSLA_MAX_BOXES_PER_IMAGE"):
        load_odgt(tmp_path / "ann.odgt")


def test_a_coco_image_with_too_many_boxes_or_zero_bytes_is_named(tmp_path, monkeypatch):
    write_image(tmp_path / "Images" / "1.jpg", size=(40, 30))
    (tmp_path / "Images" / "2.jpg").write_bytes(b"")
    annotations = [{"id": i, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25} for i in range(5)]
    coco = {"images": [{"id": 1, "file_name": "1.jpg", "width": 40, "height": 30}],
            "categories": [{"id": 1, "name": "person"}], "annotations": annotations}
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    monkeypatch.setenv("DSLA_MAX_BOXES_PER_IMAGE", "4")
    with pytest.raises(ValueError, match=r"ann.json image 1: 5 boxes, more than the limit 4"):
        coco_dataset(tmp_path, "ann.json", ("person",))
    coco["images"].append({"id": 2, "file_name": "2.jpg", "width": 40, "height": 30})
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    monkeypatch.setenv("DSLA_MAX_BOXES_PER_IMAGE", "100")
    with pytest.raises(ValueError, match=r"ann.json image 2: image .*2.jpg is empty \(0 bytes\)"):
        coco_dataset(tmp_path, "ann.json", ("person",))


@pytest.mark.parametrize("garbage, says", [
    (b"[" * 3000 + b"\n", "nested too deeply"),
    (b"x" * 5000, "longer than 1024 bytes"),
])
def test_a_garbage_odgt_line_names_file_and_line(tmp_path, monkeypatch, garbage, says):
    monkeypatch.setenv("DSLA_MAX_ANNOTATION_LINE_BYTES", "1024" if says.startswith("longer") else "4096")
    path = tmp_path / "ann.odgt"
    path.write_bytes(b'{"ID": "a", "gtboxes": []}\n' + garbage)
    with pytest.raises(OdgtFormatError, match=rf"ann.odgt:2: .*{says}") as error:
        load_odgt(path)
    assert len(str(error.value)) < 300 and "\n" not in str(error.value)


def test_overlap_count_is_chunked_and_equal_to_the_pairwise_count(monkeypatch):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 200, (300, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (300, 2))], axis=1)
    whole = density.overlapping_pairs(boxes)
    monkeypatch.setattr(density, "PAIRS_CHUNK", 1000)  # a few rows at a time
    assert density.overlapping_pairs(boxes) == whole > 0


def test_overlap_count_of_many_boxes_in_one_image_takes_bounded_memory():
    n = 6000  # pairwise arrays: 36 M entries, ~0.9 GB at once; chunked: a few tens of MB
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 2000, (n, 2))
    boxes = np.concatenate([xy, xy + 20], axis=1)
    tracemalloc.start()
    try:
        density.overlapping_pairs(boxes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 300e6, f"peak {peak / 1e6:.0f} MB: the pairwise IoU is not chunked"


def test_a_real_synthetic_image_passes_the_checks(crowd_dir):
    assert len(crowdhuman(crowd_dir, "annotation_train.odgt")) == 8
    with Image.open(next((crowd_dir / "Images").glob("*.jpg"))) as image:
        assert image.size == (128, 128)
