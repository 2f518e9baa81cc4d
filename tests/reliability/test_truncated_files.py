"""A truncated checkpoint or half-written result file is detected and its stage runs again,
instead of the pipeline reading garbage."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from experiments import tables as defs
from pipeline import engine
from pipeline.engine import Node, Stage
from pipeline.engine.store import DONE, INCOMPLETE, ResultStore
from pipeline.graph import Pipeline
from pipeline.stages.train import check_result, drop_broken_checkpoints, intact_checkpoint


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def save_checkpoint(path: Path, epoch: int) -> None:
    torch.save({"meta": {"epoch": epoch}, "state_dict": {"w": torch.arange(1000.0)}}, path)


def test_truncated_checkpoint_is_dropped_and_resume_falls_back_to_the_newest_intact_one(tmp_path):
    for epoch in (1, 2):
        save_checkpoint(tmp_path / f"epoch_{epoch}.pth", epoch)
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    truncate(tmp_path / "epoch_2.pth")
    assert intact_checkpoint(tmp_path / "epoch_1.pth") and not intact_checkpoint(tmp_path / "epoch_2.pth")

    assert drop_broken_checkpoints(tmp_path) == [tmp_path / "epoch_2.pth"]
    assert not (tmp_path / "epoch_2.pth").exists()
    assert (tmp_path / "last_checkpoint").read_text() == str(tmp_path / "epoch_1.pth")


def test_without_an_intact_checkpoint_training_starts_over(tmp_path):
    save_checkpoint(tmp_path / "epoch_1.pth", 1)
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_1.pth"))
    truncate(tmp_path / "epoch_1.pth", keep=0.9)
    drop_broken_checkpoints(tmp_path)
    assert not (tmp_path / "last_checkpoint").exists() and not list(tmp_path.glob("*.pth"))


def test_a_recorded_training_with_a_truncated_checkpoint_is_no_longer_usable(tmp_path):
    save_checkpoint(tmp_path / "epoch_2.pth", 2)
    assert check_result({"checkpoint": str(tmp_path / "epoch_2.pth")}) is None
    truncate(tmp_path / "epoch_2.pth", keep=0.99)
    assert "truncated" in check_result({"checkpoint": str(tmp_path / "epoch_2.pth")})


def write_checkpoint_stage(ctx, value):
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.work_dir / "model.pth"
    save_checkpoint(path, value)
    with open(ctx.work_dir.parent / "calls.log", "a") as log:
        log.write(f"{ctx.node}\n")
    return {"checkpoint": str(path)}


def test_engine_reruns_a_done_stage_whose_check_rejects_its_files(tmp_path):
    stage = Stage("writer", write_checkpoint_stage, check=check_result)
    node = Node("writer", stage, {"value": 3})
    store = ResultStore(tmp_path / "store")
    work = tmp_path / "work"
    assert engine.run([node], store, work_root=work).ok
    assert engine.run([node], store, work_root=work).outcomes[node.key].status == engine.CACHED

    truncate(work / node.key / "model.pth")
    [item] = engine.plan([node], store)
    assert item.action == "run" and "truncated" in item.reason
    report = engine.run([node], store, work_root=work)
    assert report.outcomes[node.key].status == DONE
    assert (work / "calls.log").read_text().splitlines() == ["writer", "writer"]
    assert intact_checkpoint(work / node.key / "model.pth")


def test_half_written_result_file_reruns_the_stage(tmp_path):
    node = Node("writer", Stage("writer", write_checkpoint_stage), {"value": 1})
    store = ResultStore(tmp_path / "store")
    engine.run([node], store, work_root=tmp_path / "work")
    truncate(store.result_path(node.key))
    assert store.load(node.key).status == INCOMPLETE
    assert engine.run([node], store, work_root=tmp_path / "work").outcomes[node.key].status == DONE
    assert store.load(node.key).status == DONE


@pytest.mark.slow
def test_real_training_with_a_truncated_last_checkpoint_trains_again(tmp_path, monkeypatch):
    """The configs keep one checkpoint (`max_keep_ckpts=1`): with it truncated, nothing intact is
    left to resume from, so the stage trains from scratch — to the same numbers (same seed)."""
    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").train(defs.Train("crowdhuman", "baseline"))
    store, settings = ResultStore(".pipeline"), {"progress": False, "threads": 1}
    first = engine.run([node], store, settings=settings).outcomes[node.key]
    assert first.status == DONE, first.error
    checkpoint = Path(first.result["checkpoint"])
    assert [p.name for p in checkpoint.parent.glob("*.pth")] == ["epoch_2.pth"]
    truncate(checkpoint)

    again = engine.run([node], store, settings=settings).outcomes[node.key]
    assert again.status == DONE, again.error  # not CACHED: the recorded result pointed at garbage
    assert intact_checkpoint(checkpoint)
    [second_log] = sorted(checkpoint.parent.glob("*/*.log"))[1:]
    assert "resumed epoch" not in second_log.read_text() and "Epoch(train) [1][" in second_log.read_text()
    assert again.result["epochs"] == first.result["epochs"], "trained again from scratch: the same numbers"
