"""A stage whose process died (kill -9) leaves its MLflow run RUNNING; the next execution of the
same key ends it as KILLED instead of leaving it open forever."""
from __future__ import annotations

from pipeline import engine
from pipeline.engine import Node, Stage
from pipeline.engine.store import ResultStore
from pipeline.tracking import Tracker


def answer(ctx, dataset, x=0):
    return {"answer": 42}


def test_rerun_of_a_killed_key_ends_its_abandoned_run(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke", commit="abc")
    node = Node("answer:crowdhuman", Stage("answer", answer), {"dataset": "crowdhuman"})
    other = Node("answer:crowdhuman-other", Stage("answer", answer), {"dataset": "crowdhuman", "x": 1})
    # What a killed process leaves behind: runs started, never terminated.
    abandoned = tracker.start_run(node.name, "crowdhuman", tags={"dsla.key": node.key})
    unrelated = tracker.start_run(other.name, "crowdhuman", tags={"dsla.key": other.key})

    report = engine.run([node], ResultStore(tmp_path / "store"), work_root=tmp_path / "w", tracker=tracker)
    assert report.ok

    client = tracker.client
    old = client.get_run(abandoned)
    assert old.info.status == "KILLED" and "killed" in old.data.tags["dsla.error"]
    assert client.get_run(unrelated).info.status == "RUNNING", "only the re-run key's runs are ended"
    new = client.get_run(ResultStore(tmp_path / "store").load(node.key).data["run_id"])
    assert new.info.status == "FINISHED" and new.info.run_id != abandoned


def test_a_live_run_of_another_folder_sharing_the_store_is_left_alone(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from types import SimpleNamespace

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    node = Node("answer:crowdhuman", Stage("answer", answer), {"dataset": "crowdhuman"})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    live = Tracker(uri, "smoke", commit="abc").before_node(node, SimpleNamespace(key=node.key))
    monkeypatch.chdir(tmp_path / "b")  # a second folder, same store, same key
    Tracker(uri, "smoke", commit="abc").before_node(node, SimpleNamespace(key=node.key))
    client = Tracker(uri, "smoke").client
    assert client.get_run(live).info.status == "RUNNING", "another folder's live run was ended"

    monkeypatch.chdir(tmp_path / "a")  # in its own folder, a live other process's run stays too
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        held = Tracker(uri, "smoke").start_run("held", "crowdhuman", tags={
            "dsla.key": "k2", "dsla.pid": str(sleeper.pid), "dsla.host": os.uname().nodename,
            "dsla.folder": str((tmp_path / "a").resolve())})
        Tracker(uri, "smoke").end_abandoned_runs("k2", "crowdhuman")
        assert client.get_run(held).info.status == "RUNNING"
    finally:
        sleeper.kill()
        sleeper.wait()
    Tracker(uri, "smoke").end_abandoned_runs("k2", "crowdhuman")  # its process died: ended now
    assert client.get_run(held).info.status == "KILLED"
