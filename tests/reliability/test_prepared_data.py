"""Prepared data is never served stale or half-trusted.

- real data (paper profile, small real-format files): the prepare key covers the annotation bytes
  and the image list, so an edited annotation file re-prepares (and changes every training key
  that reads it) instead of "reused";
- prepare validates every split it will use (train and val annotations, and their images);
- a prepared dataset damaged since (an image deleted) fails its check: real data is named in a
  one-line error, the synthetic generator redraws it; `status` does not say done.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments import tables as defs
from pipeline import cli, engine
from pipeline.engine.store import DONE, FAILED, INCOMPLETE, ResultStore
from pipeline.graph import Pipeline


def person(x):
    return {"tag": "person", "fbox": [x, 10, 20, 40], "extra": {"ignore": 0}}


def write_crowdhuman(root: Path, train_boxes: int = 1) -> Path:
    folder = root / "CrowdHuman"
    (folder / "Images").mkdir(parents=True, exist_ok=True)
    train = [{"ID": "t1", "gtboxes": [person(30 * i) for i in range(train_boxes)]}]
    val = [{"ID": "v1", "gtboxes": [person(0)]}, {"ID": "v2", "gtboxes": []}]
    (folder / "annotation_train.odgt").write_text("".join(json.dumps(r) + "\n" for r in train))
    (folder / "annotation_val.odgt").write_text("".join(json.dumps(r) + "\n" for r in val))
    for name in ("t1", "v1", "v2"):
        (folder / "Images" / f"{name}.jpg").write_bytes(b"\xff\xd8 not decoded by prepare")
    return folder


def prepare_node(root: Path):
    return Pipeline("paper", data_root=root).prepare("crowdhuman")


def run(node, store, tmp_path):
    return engine.run([node], store, work_root=tmp_path / "work").outcomes[node.key]


def test_an_edited_real_annotation_file_re_prepares_and_retrains(tmp_path):
    root = tmp_path / "data"
    write_crowdhuman(root, train_boxes=1)
    store = ResultStore(tmp_path / "store")
    first = prepare_node(root)
    assert run(first, store, tmp_path).result["density"]["objects"] == 1
    train_before = Pipeline("paper", data_root=root).train(defs.Train("crowdhuman", "baseline"))

    write_crowdhuman(root, train_boxes=3)  # same path, new content
    second = prepare_node(root)
    assert second.key != first.key
    outcome = run(second, store, tmp_path)
    assert outcome.status == DONE and outcome.result["density"]["objects"] == 3
    train_after = Pipeline("paper", data_root=root).train(defs.Train("crowdhuman", "baseline"))
    assert train_after.key != train_before.key, "the training that reads the data is not reused"


def test_prepare_validates_the_validation_split_too(tmp_path):
    root = tmp_path / "data"
    folder = write_crowdhuman(root)
    with open(folder / "annotation_val.odgt", "a") as handle:
        handle.write('{"ID": "v3", "gtboxes": [{"tag": "person", "fbox": [1, 2, 3]}]}\n')
    outcome = run(prepare_node(root), ResultStore(tmp_path / "store"), tmp_path)
    assert outcome.status == FAILED and "annotation_val.odgt:3:" in outcome.error


def test_an_image_missing_from_a_split_is_named(tmp_path):
    root = tmp_path / "data"
    folder = write_crowdhuman(root)
    (folder / "Images" / "v2.jpg").unlink()
    outcome = run(prepare_node(root), ResultStore(tmp_path / "store"), tmp_path)
    assert outcome.status == FAILED
    assert "annotation_val.odgt:2:" in outcome.error and "v2.jpg does not exist" in outcome.error


def test_real_data_damaged_after_prepare_is_named_not_trusted(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    folder = write_crowdhuman(root)
    store = ResultStore(tmp_path / "store")
    node = prepare_node(root)
    assert run(node, store, tmp_path).status == DONE
    (folder / "Images" / "t1.jpg").unlink()
    # the key of the node built before the deletion is the recorded one: only the check can tell
    record = engine.load_record(node, store)
    assert record.status == INCOMPLETE and "changed since it was prepared" in record.error
    outcome = run(node, store, tmp_path)
    assert outcome.status == FAILED and "t1.jpg does not exist" in outcome.error


@pytest.mark.slow
def test_synthetic_data_damaged_after_prepare_is_redrawn_and_status_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").prepare("crowdhuman")
    store = ResultStore(".pipeline")
    assert run(node, store, tmp_path).status == DONE
    images = Path(node.params["data_root"]) / "Images"
    victim = sorted(images.glob("*.jpg"))[0]
    victim.unlink()
    assert cli.main(["status", "table1", "--profile", "smoke"]) == 0
    status = capsys.readouterr().out
    assert f"incomplete {node.key} prepare:crowdhuman" in " ".join(status.split()), status
    assert run(node, store, tmp_path).status == DONE
    assert victim.is_file() and engine.load_record(node, store).status == DONE


def test_status_names_a_killed_training_resumable_with_its_epoch(tmp_path, monkeypatch, capsys):
    import zipfile

    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").train(defs.Train("crowdhuman", "baseline"))
    work_dir = tmp_path / "work_dirs" / node.key
    work_dir.mkdir(parents=True)
    for epoch in (1, 2):
        with zipfile.ZipFile(work_dir / f"epoch_{epoch}.pth", "w") as archive:
            archive.writestr("data.pkl", b"x")
    (work_dir / "epoch_3.pth").write_bytes(b"truncated")  # not intact: not a resume point
    (work_dir / "config.py").write_text("train_cfg = dict(\n    max_epochs=5, type='EpochBasedTrainLoop', val_interval=1)\n")
    assert cli.main(["status", "table3", "--profile", "smoke"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if node.key in line]
    assert line.startswith("resumable (epoch 2 of 5)"), line
    assert cli.main(["run", "table3", "--profile", "smoke", "--dry-run"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if node.name in line and line.startswith("run")]
    assert line.endswith("resumable (epoch 2 of 5)"), line
