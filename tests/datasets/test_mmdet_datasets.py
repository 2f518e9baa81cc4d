"""CrowdHumanOdgtDataset and CheckedCocoDataset on generated and hand-written files."""
import json
import logging

import numpy as np
import pytest
from PIL import Image

from dsla.datasets.odgt import OdgtFormatError, load_odgt, record_boxes

pytestmark = pytest.mark.usefixtures("mmdet_scope")

PACK = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
        dict(type="PackDetInputs")]


def crowdhuman(root, ann_file, pipeline=(), **kwargs):
    from mmdet.registry import DATASETS

    return DATASETS.build(dict(type="CrowdHumanOdgtDataset", data_root=str(root) + "/",
                               ann_file=ann_file, data_prefix=dict(img="Images/"),
                               pipeline=list(pipeline), **kwargs))


def test_generated_crowd_data_loads_with_fbox_targets_and_ignore_regions(crowd_dir):
    dataset = crowdhuman(crowd_dir, "annotation_train.odgt", PACK)
    records = load_odgt(crowd_dir / "annotation_train.odgt")
    assert len(dataset) == len(records) == 8
    for index, record in enumerate(records):
        info = dataset.get_data_info(index)
        assert info["img_id"] == record["ID"] and (info["height"], info["width"]) == (128, 128)
        boxes, ignore = record_boxes(record)
        np.testing.assert_array_equal([i["bbox"] for i in info["instances"]], boxes)
        assert [i["ignore_flag"] for i in info["instances"]] == ignore.astype(int).tolist()
        assert [i["bbox_label"] for i in info["instances"]] == np.where(ignore, -1, 0).tolist()
    sample = dataset[0]["data_samples"]
    _, ignore = record_boxes(records[0])
    assert len(sample.gt_instances) == (~ignore).sum() > 0
    assert len(sample.ignored_instances) == ignore.sum()
    assert (sample.gt_instances.labels == 0).all()


def write_image(path, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 90, 90)).save(path)


def write_odgt(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def box(fbox, tag="person", **extra):
    return {"tag": tag, "fbox": fbox, "extra": extra}


def test_image_size_from_record_then_id_hw_cache_then_image_header(tmp_path):
    for name in ("a", "b", "c"):
        write_image(tmp_path / "Images" / f"{name}.jpg", size=(40, 30))
    write_odgt(tmp_path / "ann.odgt", [
        {"ID": "a", "width": 400, "height": 300, "gtboxes": [box([1, 1, 5, 5])]},
        {"ID": "b", "gtboxes": [box([1, 1, 5, 5])]},
        {"ID": "c", "gtboxes": [box([1, 1, 5, 5], tag="mask", ignore=1),
                                box([2, 2, 5, 5], tag="cyclist")]}])
    (tmp_path / "id_hw.json").write_text(json.dumps({"b": [200, 100]}))
    dataset = crowdhuman(tmp_path, "ann.odgt", extra_ann_file=str(tmp_path / "id_hw.json"))
    sizes = [(dataset.get_data_info(i)["height"], dataset.get_data_info(i)["width"])
             for i in range(3)]
    assert sizes == [(300, 400), (200, 100), (30, 40)]
    assert [i["ignore_flag"] for i in dataset.get_data_info(2)["instances"]] == [1, 1]


def test_default_id_hw_cache_beside_the_annotations_is_used(tmp_path):
    write_image(tmp_path / "Images" / "b.jpg")
    write_odgt(tmp_path / "annotation_val.odgt", [{"ID": "b", "gtboxes": [box([1, 1, 5, 5])]}])
    (tmp_path / "id_hw_val.json").write_text(json.dumps({"b": [77, 66]}))
    info = crowdhuman(tmp_path, "annotation_val.odgt").get_data_info(0)
    assert (info["height"], info["width"]) == (77, 66)


def test_missing_image_names_the_file_line_and_image(tmp_path):
    write_image(tmp_path / "Images" / "a.jpg")
    write_odgt(tmp_path / "ann.odgt", [{"ID": "a", "gtboxes": []}, {"ID": "gone", "gtboxes": []}])
    with pytest.raises(OdgtFormatError, match=r"ann.odgt:2: image of record 'gone' not found: "
                                              r".*Images/gone.jpg"):
        crowdhuman(tmp_path, "ann.odgt")


def test_box_entirely_outside_the_image_is_an_error_with_its_line(tmp_path):
    write_image(tmp_path / "Images" / "a.jpg", size=(40, 30))
    write_odgt(tmp_path / "ann.odgt", [{"ID": "a", "gtboxes": [box([1, 1, 5, 5]),
                                                               box([1, 31, 5, 5])]}])
    with pytest.raises(OdgtFormatError, match=r"ann.odgt:1: .*gtboxes\[1\] .*entirely outside "
                                              r"the 40x30 image"):
        crowdhuman(tmp_path, "ann.odgt")


def test_malformed_annotation_line_is_reported_by_the_dataset(tmp_path):
    (tmp_path / "ann.odgt").write_text('{"ID": "a", "gtboxes": []}\n{"ID": \n')
    with pytest.raises(OdgtFormatError, match=r"ann.odgt:2: malformed JSON"):
        crowdhuman(tmp_path, "ann.odgt")


def coco_dataset(root, ann_file, classes):
    from mmdet.registry import DATASETS

    return DATASETS.build(dict(type="CheckedCocoDataset", data_root=str(root) + "/",
                               ann_file=ann_file, data_prefix=dict(img="Images/"),
                               metainfo=dict(classes=classes), pipeline=[]))


def test_generated_sparse_data_loads_as_coco(sparse_dir):
    from dsla.datasets.synthetic import SPARSE_CLASSES

    dataset = coco_dataset(sparse_dir, "annotation_train.json", SPARSE_CLASSES)
    records = load_odgt(sparse_dir / "annotation_train.odgt")
    assert len(dataset) == len(records) and dataset.dropped_boxes == []
    labels = [SPARSE_CLASSES[i["bbox_label"]] for i in dataset.get_data_info(0)["instances"]]
    assert labels == [g["tag"] for g in records[0]["gtboxes"]]


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_boxes_mmdet_cannot_train_on_are_counted_and_logged(tmp_path):
    write_image(tmp_path / "Images" / "1.jpg", size=(40, 30))
    coco = {"images": [{"id": 1, "file_name": "1.jpg", "width": 40, "height": 30}],
            "categories": [{"id": 1, "name": "person"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25},
                {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0.5, 5], "area": 2.5},
                {"id": 3, "image_id": 1, "category_id": 1, "bbox": [50, 1, 5, 5], "area": 25}]}
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    from mmengine.logging import MMLogger

    logger, collect = MMLogger.get_current_instance(), Collect()
    logger.addHandler(collect)
    try:
        dataset = coco_dataset(tmp_path, "ann.json", ("person",))
    finally:
        logger.removeHandler(collect)
    assert dataset.dropped_boxes == [(1, 2), (1, 3)]
    assert len(dataset.get_data_info(0)["instances"]) == 1
    assert any("dropped 2 annotations" in m for m in collect.messages), collect.messages


def test_missing_coco_image_is_an_error_naming_it(tmp_path):
    coco = {"images": [{"id": 5, "file_name": "5.jpg", "width": 40, "height": 30}],
            "categories": [{"id": 1, "name": "person"}], "annotations": []}
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    with pytest.raises(FileNotFoundError, match=r"ann.json: image 5 not found: .*Images/5.jpg"):
        coco_dataset(tmp_path, "ann.json", ("person",))
