"""Figure 4's curves validate on a subset of the validation images; the tables use all of them."""
import json

import pytest

from pipeline import profiles


def test_curve_subset_files_keep_the_first_images(tmp_path):
    (tmp_path / "annotation_val.odgt").write_text("".join(json.dumps({"ID": f"i{k}", "gtboxes": []}) + "\n" for k in range(5)))
    assert profiles.write_curve_subset(tmp_path, "annotation_val.odgt", 2) == "annotation_val_curve.odgt"
    assert [json.loads(line)["ID"] for line in (tmp_path / "annotation_val_curve.odgt").read_text().splitlines()] == ["i0", "i1"]
    coco = {"images": [{"id": k} for k in (7, 3, 9)], "categories": [{"id": 1, "name": "person"}],
            "annotations": [{"id": 1, "image_id": 3}, {"id": 2, "image_id": 9}, {"id": 3, "image_id": 7}]}
    (tmp_path / "annotation_val.json").write_text(json.dumps(coco))
    assert profiles.write_curve_subset(tmp_path, "annotation_val.json", 2) == "annotation_val_curve.json"
    subset = json.loads((tmp_path / "annotation_val_curve.json").read_text())
    assert [i["id"] for i in subset["images"]] == [7, 3] and [a["id"] for a in subset["annotations"]] == [1, 3]


@pytest.mark.slow
def test_training_validates_on_the_curve_subset_and_evaluate_on_all(tmp_path, monkeypatch):
    from experiments import tables as defs
    from pipeline.engine import ResultStore, run
    from pipeline.graph import Pipeline

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(profiles.CURVE_IMAGES, "smoke", 2)
    node = Pipeline("smoke").evaluate(defs.Train("crowdhuman", "baseline"))
    outcome = run([node], ResultStore(".pipeline"), settings={"progress": False, "threads": 1}).outcomes[node.key]
    assert outcome.result is not None, outcome.error
    trained = node.inputs["trained"]
    prepared = node.inputs["prepared"]
    assert prepared.params["curve_images"] == 2
    config = (tmp_path / "work_dirs" / trained.key / "config.py").read_text()
    assert "annotation_val_curve.odgt" in config
    detections = [json.loads(line) for line in open(outcome.result["detections"])]
    assert len(detections) == 6  # the smoke profile's 6 validation images, not the 2 of the curves
