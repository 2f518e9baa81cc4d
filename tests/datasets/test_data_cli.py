"""`pipeline data synth | density | draw` end to end on small data."""
import json

import numpy as np
from PIL import Image

from pipeline.cli import main


def test_synth_prints_the_density_it_stores(tmp_path, capsys):
    out = tmp_path / "sparse"
    assert main(["data", "synth", "--preset", "sparse", "--num-images", "4", "--out", str(out),
                 "--seed", "1", "--image-size", "64", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    stats = json.loads((out / "density.json").read_text())
    assert f"{stats['all']['objects_per_image']:.2f} objects/img" in printed
    assert stats["params"]["image_size"] == 64 and len(list((out / "Images").iterdir())) == 4


def test_density_prints_table1_json(crowd_dir, capsys):
    assert main(["data", "density", str(crowd_dir / "annotation_train.odgt")]) == 0
    stats = json.loads(capsys.readouterr().out)
    stored = json.loads((crowd_dir / "density.json").read_text())["train"]
    assert stats["format"] == "odgt"
    assert stats["objects_per_image"] == stored["objects_per_image"]
    assert stats["overlaps_per_image"] == stored["overlaps_per_image"]


def test_draw_saves_the_image_with_boxes(crowd_dir, tmp_path, capsys):
    png = tmp_path / "drawn.png"
    assert main(["data", "draw", "--ann", str(crowd_dir / "annotation_val.odgt"),
                 "--image-id", "crowd_000009", "--out", str(png), "--scale", "2"]) == 0
    drawn = np.asarray(Image.open(png).convert("RGB"))
    plain = np.asarray(Image.open(crowd_dir / "Images" / "crowd_000009.jpg").convert("RGB")
                       .resize((256, 256), Image.NEAREST))
    assert drawn.shape == plain.shape == (256, 256, 3)
    changed = np.any(drawn != plain, axis=2)
    assert 0.01 < changed.mean() < 0.6
    cyan = np.all(drawn == (0, 200, 255), axis=2)             # full-body boxes
    assert cyan.any()
    assert "crowd_000009" in capsys.readouterr().out


def test_draw_from_coco_json_by_file_name(crowd_dir, tmp_path):
    png = tmp_path / "drawn.png"
    assert main(["data", "draw", "--ann", str(crowd_dir / "annotation_val.json"),
                 "--image-id", "crowd_000009.jpg", "--out", str(png), "--scale", "1"]) == 0
    assert Image.open(png).size == (128, 128)


def test_bad_input_is_one_error_line_and_exit_code_2(tmp_path, crowd_dir, capsys):
    bad = tmp_path / "bad.odgt"
    bad.write_text('{"ID": "a", "gtboxes": [{"tag": "person"}]}\n')
    assert main(["data", "density", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"pipeline data density: error: {bad}:1: record 'a' gtboxes[0] has no 'fbox'")
    assert main(["data", "draw", "--ann", str(crowd_dir / "annotation_val.odgt"),
                 "--image-id", "nobody", "--out", str(tmp_path / "x.png")]) == 2
    assert "no record with ID 'nobody'" in capsys.readouterr().err
    assert main(["data", "synth", "--num-images", "1", "--out", str(tmp_path / "s")]) == 2
    assert "num_images must be an integer >= 2" in capsys.readouterr().err
