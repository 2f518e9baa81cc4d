"""The synthetic generator: files and formats, determinism, caching, and crowd properties."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from dsla.datasets import synthetic
from dsla.datasets.coco_format import load_coco
from dsla.datasets.density import odgt_density, overlapping_pairs
from dsla.datasets.drawing import Drawing
from dsla.datasets.odgt import load_odgt, record_boxes
from dsla.datasets.synthetic import SPARSE_CLASSES, STAMP_NAME, generate_dataset, render_image


def test_writes_odgt_coco_images_and_density_for_each_split(crowd_dir):
    train, val = (load_odgt(crowd_dir / f"annotation_{s}.odgt") for s in ("train", "val"))
    assert [len(train), len(val)] == [8, 2]
    assert [r["ID"] for r in train + val] == [f"crowd_{i:06d}" for i in range(10)]
    for record in train + val:
        assert (record["width"], record["height"]) == (128, 128)
        with Image.open(crowd_dir / "Images" / f"{record['ID']}.jpg") as image:
            assert image.size == (128, 128)
        for gtbox in record["gtboxes"]:
            assert set(gtbox) >= {"fbox", "vbox", "hbox", "tag", "extra"}
            assert set(gtbox["extra"]) == {"ignore", "occ"}
    stats = json.loads((crowd_dir / "density.json").read_text())
    assert stats["train"] == odgt_density(train) and stats["val"] == odgt_density(val)
    assert stats["all"]["images"] == 10


def test_coco_json_holds_the_same_boxes_as_the_odgt(crowd_dir):
    for split in ("train", "val"):
        records = load_odgt(crowd_dir / f"annotation_{split}.odgt")
        coco = load_coco(crowd_dir / f"annotation_{split}.json")
        assert [i["file_name"] for i in coco["images"]] == [f"{r['ID']}.jpg" for r in records]
        assert coco["categories"] == [{"id": 1, "name": "person"}]
        for record, image in zip(records, coco["images"]):
            anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
            boxes, ignore = record_boxes(record)
            coco_xyxy = np.array([a["bbox"] for a in anns], dtype=float).reshape(-1, 4)
            coco_xyxy[:, 2:] += coco_xyxy[:, :2]
            np.testing.assert_array_equal(coco_xyxy, boxes)
            assert [a["iscrowd"] for a in anns] == ignore.astype(int).tolist()


def test_same_seed_gives_the_same_dataset_whatever_the_number_of_workers(crowd_dir, tmp_path):
    other = generate_dataset(tmp_path / "again", preset="crowd", num_images=10,
                             val_fraction=0.2, image_size=128, seed=3, workers=2)
    for name in ("annotation_train.odgt", "annotation_val.json"):
        assert (other / name).read_bytes() == (crowd_dir / name).read_bytes()
    image = "Images/crowd_000009.jpg"
    assert (other / image).read_bytes() == (crowd_dir / image).read_bytes()


def test_other_seed_gives_other_images():
    (a, boxes_a), (b, boxes_b) = render_image("crowd", 0, 96, 1), render_image("crowd", 0, 96, 2)
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    assert boxes_a != boxes_b


def small(out, **changes):
    kwargs = dict(preset="crowd", num_images=3, val_fraction=0.34, image_size=64, seed=0)
    return generate_dataset(out, **{**kwargs, **changes})


def test_cached_result_is_reused_and_changed_parameters_regenerate(tmp_path):
    out = small(tmp_path / "d")
    odgt = out / "annotation_train.odgt"
    before = odgt.stat().st_mtime_ns, odgt.read_bytes()
    os.utime(odgt, ns=(1, 1))                       # a rewrite would change the mtime again
    small(tmp_path / "d")
    assert odgt.stat().st_mtime_ns == 1
    small(tmp_path / "d", seed=1)
    assert odgt.stat().st_mtime_ns != 1 and odgt.read_bytes() != before[1]


def test_interrupted_or_damaged_generation_is_redone(tmp_path):
    out = small(tmp_path / "d")
    stamp = json.loads((out / STAMP_NAME).read_text())
    (out / STAMP_NAME).write_text(json.dumps({**stamp, "complete": False}))
    (out / "annotation_val.odgt").unlink()          # as if killed before writing it
    small(tmp_path / "d")
    assert load_odgt(out / "annotation_val.odgt")
    (out / "Images" / "crowd_000001.jpg").unlink()  # complete stamp, but an image is missing
    small(tmp_path / "d")
    assert (out / "Images" / "crowd_000001.jpg").is_file()


def test_refuses_to_overwrite_a_directory_it_did_not_write(tmp_path):
    (tmp_path / "annotation_train.odgt").write_text('{"ID": "mine", "gtboxes": []}\n')
    with pytest.raises(FileExistsError, match="not written by the synthetic generator"):
        small(tmp_path)
    assert (tmp_path / "annotation_train.odgt").read_text().startswith('{"ID": "mine"')


@pytest.mark.parametrize("change, message", [
    ({"preset": "dense"}, "preset must be one of"),
    ({"val_fraction": 1.0}, "val_fraction must be in"),
    ({"num_images": 1}, "num_images must be an integer >= 2"),
    ({"image_size": 32}, "image_size must be an integer >= 64"),
    ({"workers": 0}, "workers must be an integer >= 1"),
    ({"density": 0.0}, "density must be a positive number"),
])
def test_bad_arguments_are_named(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        small(tmp_path / "d", **change)
    assert not (tmp_path / "d").exists()


def block(x1, y1, x2, y2):
    fig = Drawing()
    fig.add("rect", (x1, y1, x2, y2), (200, 100, 50))
    return fig


def test_visible_boxes_occlusion_and_ignore_follow_what_is_painted_in_front():
    front = block(30, 30, 70, 110)
    scene = [(5, front, "person"),
             (1, block(40, 40, 60, 100), "person"),   # entirely behind `front`: not annotated
             (2, block(10, 40, 49, 99), "person"),    # left half visible
             (3, block(29, 50, 68, 90), "person"),    # 1 of 40 columns visible: ignore
             (4, block(100, 10, 139, 59), "person")]  # cut by the right border, not occluded
    gtboxes = synthetic._paint_and_annotate(Image.new("RGB", (128, 128)), scene, synthetic.CROWD)
    by_fbox = {tuple(g["fbox"]): g for g in gtboxes}
    assert set(by_fbox) == {(30, 30, 41, 81), (10, 40, 40, 60), (29, 50, 40, 41),
                            (100, 10, 40, 50)}
    assert by_fbox[30, 30, 41, 81]["vbox"] == [30, 30, 41, 81]
    assert by_fbox[30, 30, 41, 81]["extra"] == {"ignore": 0, "occ": 0}
    assert by_fbox[10, 40, 40, 60]["vbox"] == [10, 40, 20, 60]
    assert by_fbox[10, 40, 40, 60]["extra"] == {"ignore": 0, "occ": 1}
    assert by_fbox[29, 50, 40, 41]["vbox"] == [29, 50, 1, 41]
    assert by_fbox[29, 50, 40, 41]["extra"]["ignore"] == 1
    assert by_fbox[100, 10, 40, 50]["vbox"] == [100, 10, 28, 50]
    assert by_fbox[100, 10, 40, 50]["extra"] == {"ignore": 0, "occ": 0}


def crowd_records(count=40, size=256):
    return [{"ID": str(i), "gtboxes": render_image("crowd", i, size, 11)[1]} for i in range(count)]


def test_crowd_images_have_occlusion_border_cuts_ignore_regions_and_many_scales():
    records = crowd_records()
    persons = [g for r in records for g in r["gtboxes"] if g["tag"] == "person"]
    fboxes = np.array([g["fbox"] for g in persons], dtype=float)
    vboxes = np.array([g["vbox"] for g in persons], dtype=float)
    right, bottom = fboxes[:, 0] + fboxes[:, 2], fboxes[:, 1] + fboxes[:, 3]
    cut = (fboxes[:, 0] < 0) | (right > 256) | (bottom > 256)
    assert cut.mean() > 0.05                                    # cut by the image border
    assert (vboxes[:, 2] * vboxes[:, 3] < 0.5 * fboxes[:, 2] * fboxes[:, 3]).mean() > 0.2
    assert (vboxes[:, :2] >= 0).all() and (vboxes[:, :2] + vboxes[:, 2:] <= 256).all()
    assert np.mean([g["extra"]["occ"] for g in persons]) > 0.2
    assert any(g["extra"]["ignore"] for g in persons)
    assert any(g["tag"] == "mask" for r in records for g in r["gtboxes"])
    ratios = [max(h) / min(h) for r in records
              if len(h := [g["fbox"][3] for g in r["gtboxes"] if g["tag"] == "person"]) > 5]
    assert np.median(ratios) > 4                                # very different sizes per image


def test_crowd_preset_density_is_near_crowdhuman():
    stats = odgt_density(crowd_records(150))
    assert 18 < stats["objects_per_image"] < 28, stats
    assert 1.5 < stats["overlaps_per_image"] < 3.5, stats


def test_density_option_scales_the_number_of_people():
    half = [render_image("crowd", i, 128, 5, density=0.5)[1] for i in range(60)]
    full = [render_image("crowd", i, 128, 5, density=1.0)[1] for i in range(60)]
    ratio = sum(map(len, half)) / sum(map(len, full))
    assert 0.35 < ratio < 0.7, ratio


def test_sparse_preset_is_multi_class_without_overlaps(sparse_dir):
    coco = load_coco(sparse_dir / "annotation_train.json")
    assert [c["name"] for c in coco["categories"]] == list(SPARSE_CLASSES)
    records = load_odgt(sparse_dir / "annotation_train.odgt")
    assert {g["tag"] for r in records for g in r["gtboxes"]} == set(SPARSE_CLASSES)
    for record in records:
        boxes, _ = record_boxes(record)
        assert overlapping_pairs(boxes, threshold=0.1) == 0
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 128).all()


def test_the_cache_stamp_covers_every_module_the_generator_imports():
    """The generator's code digest lists its modules by hand (dsla cannot import the pipeline's
    fingerprint helper); the pipeline's import walk checks that list is complete."""
    from pipeline import REPO_ROOT
    from pipeline.engine import CodeScope

    walked = set(CodeScope(REPO_ROOT, ("dsla",)).modules("dsla.datasets.synthetic"))
    packages = {"dsla", "dsla.datasets"}  # their __init__ registers mmdet classes; not followed
    assert walked - packages == {m.__name__ for m in (*synthetic.GENERATOR_MODULES, synthetic)}
