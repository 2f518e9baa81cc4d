"""MLflow tracking of stage runs against a real SQLite store, and failing fast on a dead server."""
from __future__ import annotations

import time

import pytest

from pipeline import engine
from pipeline.engine import ChildRun, Node, Stage, StageResult, Stopped
from pipeline.engine.store import ResultStore
from pipeline.stages.contracts import Trained
from pipeline.tracking import Tracker, TrackingUnavailable, check_reachable, flat_params


def ok_stage(ctx, value, dataset):
    return StageResult({"value": value}, metrics={"AP": value / 10})  # stages log nothing themselves


def failing_stage(ctx, dataset):
    raise ValueError("bad K=0")


OK, FAIL = Stage("ok", ok_stage), Stage("fail", failing_stage)


@pytest.fixture
def tracker(tmp_path):
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke", commit="abc123")


def test_unreachable_server_fails_within_seconds_naming_the_uri():
    started = time.time()
    with pytest.raises(TrackingUnavailable, match=r"http://127\.0\.0\.1:9/ is not reachable"):
        check_reachable("http://127.0.0.1:9/", timeout=2)
    assert time.time() - started < 10


def test_sqlite_store_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(TrackingUnavailable, match="does not exist"):
        check_reachable(f"sqlite:///{tmp_path / 'nope' / 'mlflow.db'}")


def test_stage_runs_record_params_tags_metrics_and_failures(tracker, tmp_path):
    good = Node("ok:crowdhuman", OK, {"value": 7, "dataset": "crowdhuman"})
    bad = Node("fail:coco", FAIL, {"dataset": "coco"})
    report = engine.run([good, bad], ResultStore(tmp_path / "store"), work_root=tmp_path / "w", tracker=tracker)
    assert report.outcomes[good.key].status == engine.DONE

    client = tracker.client
    crowd = client.get_experiment_by_name("dsla/smoke/crowdhuman")
    [run] = client.search_runs([crowd.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["dsla.key"] == good.key and run.data.tags["dsla.stage"] == "ok"
    assert run.data.tags["mlflow.source.git.commit"] == "abc123"
    assert run.data.params["value"] == "7" and run.data.params["profile"] == "smoke"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "AP")] == [0.7]

    [failed] = client.search_runs([client.get_experiment_by_name("dsla/smoke/coco").experiment_id])
    assert failed.info.status == "FAILED" and failed.data.tags["dsla.error"] == "ValueError: bad K=0"
    assert ResultStore(tmp_path / "store").load(bad.key).data["run_id"] == failed.info.run_id


def test_child_runs_hang_under_their_parent(tracker):
    parent = tracker.start_run("table4", "crowdhuman")
    child = tracker.child_run(parent, "table4/dsla", "crowdhuman", tags={"dsla.train_run_ids": "r1"},
                              params={"variant": "dsla", "K": 6}, metrics={"AP": 50.0})
    run = tracker.client.get_run(child)
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.metrics == {"AP": 50.0} and run.data.params["K"] == "6"


def test_overrides_become_plain_mlflow_params():
    assert flat_params({"variant": "dsla", "overrides": {"K": 4, "t_max": 0.6}, "seed": 0}) == {
        "variant": "dsla", "K": "4", "t_max": "0.6", "seed": "0"}


def reporting_stage(ctx, dataset):
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    (ctx.work_dir / "table4.md").write_text("| a |\n")
    return StageResult({"rows": 1}, metrics={"AP": 0.5}, params={"K": 6}, tags={"dsla.train_run_id": "r0"},
                       artifacts={"table": [str(ctx.work_dir / "table4.md")]},
                       children=[ChildRun("table4/dsla", tags={"dsla.row": "dsla"}, params={"K": 6}, metrics={"AP": 50.0})])


def stopped_stage(ctx, dataset):
    raise Stopped("pruned after epoch 1 (AP 0.0100)")


def test_the_engine_logs_what_the_stage_result_carries(tracker, tmp_path):
    node = Node("table4", Stage("table", reporting_stage), {"dataset": "crowdhuman"})
    assert engine.run([node], ResultStore(tmp_path / "store"), work_root=tmp_path / "w", tracker=tracker).ok
    client = tracker.client
    experiment = client.get_experiment_by_name("dsla/smoke/crowdhuman").experiment_id
    [parent] = client.search_runs([experiment], filter_string="tags.`dsla.stage` = 'table'")
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics == {"AP": 0.5} and parent.data.params["K"] == "6"
    assert parent.data.tags["dsla.train_run_id"] == "r0"
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "table")] == ["table/table4.md"]
    [child] = client.search_runs([experiment], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert child.data.tags["dsla.row"] == "dsla" and child.data.metrics == {"AP": 50.0}


def test_a_stopped_stage_is_not_a_failed_run(tracker, tmp_path):
    node = Node("train:crowdhuman/dsla", Stage("train", stopped_stage), {"dataset": "crowdhuman"})
    report = engine.run([node], ResultStore(tmp_path / "store"), work_root=tmp_path / "w", tracker=tracker)
    assert report.outcomes[node.key].status == engine.STOPPED
    [run] = tracker.client.search_runs([tracker.client.get_experiment_by_name("dsla/smoke/crowdhuman").experiment_id])
    assert run.info.status == "FINISHED" and run.data.tags["dsla.stopped"] == "pruned after epoch 1 (AP 0.0100)"
    assert "dsla.error" not in run.data.tags


SEEN_URI = []


def sees_the_tracking_uri(ctx, dataset):
    import os
    SEEN_URI.append(os.environ.get("MLFLOW_TRACKING_URI"))
    return {"ok": True}


def test_the_tracker_not_the_stage_points_a_training_at_its_store(tracker, tmp_path, monkeypatch):
    """While a train stage runs, MLFLOW_TRACKING_URI names the tracker's store (its MLflowMetricsHook
    and a launched worker find it there); other stages, and the process afterwards, are untouched."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    SEEN_URI.clear()
    train = Node("train:crowdhuman/x", Stage("train", sees_the_tracking_uri), {"dataset": "crowdhuman"})
    table = Node("table4", Stage("table", sees_the_tracking_uri), {"dataset": "crowdhuman"})
    report = engine.run([train, table], ResultStore(tmp_path / "store"), work_root=tmp_path / "w", tracker=tracker)
    assert report.ok
    assert sorted(SEEN_URI, key=str) == sorted([tracker.uri, None], key=str)
    assert "MLFLOW_TRACKING_URI" not in __import__("os").environ


# --- what a run logs, decided by the tracker from the stage's typed result -------------------------
WATCHERS_SEEN = []


def typed_train(ctx, dataset, variant):
    WATCHERS_SEEN.append(list(ctx.watchers))
    ctx.work_dir.mkdir(parents=True, exist_ok=True)
    (ctx.work_dir / "config.py").write_text("model = dict()\n")
    (ctx.work_dir / "epoch_1.pth").write_bytes(b"weights")
    return Trained(work_dir=str(ctx.work_dir), checkpoint=str(ctx.work_dir / "epoch_1.pth"),
                   config=str(ctx.work_dir / "config.py"), epochs=[{"epoch": 1, "AP": 0.2}], final={"epoch": 1, "AP": 0.2},
                   knobs={"K": 6}, run={"variant": variant}, data="synthetic", weights="random init")


def typed_evaluate(ctx, dataset, trained: Trained):
    from pipeline.stages.contracts import Evaluated

    assert not hasattr(ctx, "tracker")
    return Evaluated(metrics={"AP": 0.25}, detections="d.odgt", epochs=1, curve=[[1, 0.2]], run=trained.run,
                     data=trained.data, weights=trained.weights, knobs=trained.knobs)


def test_the_tracker_logs_from_typed_results_and_finds_upstream_runs_by_key(tracker, tmp_path):
    WATCHERS_SEEN.clear()
    train = Node("train:crowdhuman/dsla", Stage("train", typed_train, returns=Trained),
                 {"dataset": "crowdhuman", "variant": "dsla"})
    evaluate = Node("evaluate:crowdhuman/dsla", Stage("evaluate", typed_evaluate), {"dataset": "crowdhuman"},
                    inputs={"trained": train})
    store = ResultStore(tmp_path / "store")
    assert engine.run([evaluate], store, work_root=tmp_path / "w", tracker=tracker).ok
    train_run = store.load(train.key).data["run_id"]
    # the training was watched by what the tracker gave it (its curves into its own run), not by the stage
    assert WATCHERS_SEEN == [[{"module": "pipeline.tracking.mlflow_hook",
                               "hook": {"type": "MLflowMetricsHook", "run_id": train_run}}]]
    client = tracker.client
    trained_run, evaluated_run = client.get_run(train_run), client.get_run(store.load(evaluate.key).data["run_id"])
    assert trained_run.data.params["K"] == "6" and trained_run.data.params["backbone_weights"] == "random init"
    assert [a.path for a in client.list_artifacts(train_run)] and evaluated_run.data.metrics == {"AP": 0.25}
    assert evaluated_run.data.tags["dsla.train_run_id"] == train_run, "found by the training's key"
    assert f"#/runs/{train_run}" in evaluated_run.data.tags["mlflow.note.content"]
    assert "run_id" not in store.load(evaluate.key).result and "run_id" not in store.load(train.key).result


def test_upstream_runs_are_found_by_key_in_every_experiment_of_the_profile(tracker):
    """Figure 4's run is in the report's experiment, its trainings in the datasets' (the report's
    Figure 4 link went missing when only the consumer's experiment was searched)."""
    train = tracker.start_run("baseline · train crowdhuman s0", "crowdhuman", tags={"dsla.key": "a" * 16})
    tracker.client.set_terminated(train, "FINISHED")
    unfinished = tracker.start_run("baseline · train coco s0", "coco", tags={"dsla.key": "b" * 16})
    tracker.experiment_id(None)  # the report's experiment exists too
    assert tracker.runs(["a" * 16, "b" * 16, "c" * 16]) == {"a" * 16: train}
    assert unfinished not in tracker.runs(["b" * 16]).values()
