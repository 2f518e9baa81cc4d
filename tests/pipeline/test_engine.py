"""Semantics of the DAG engine with fake stages: keys, cache reuse, re-running exactly the
dependents of a changed parameter, failure isolation, atomic results and dry-run reasons."""
from __future__ import annotations

import json
import os

import pytest
from fake_stages import ADD, DOUBLE, EXPLODE, NUMBER, SLOW, calls

from pipeline import engine
from pipeline.engine import Node
from pipeline.engine.store import DONE, FAILED, INCOMPLETE, ResultStore, write_json_atomic


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_STAGE_LOG", str(path))
    return path


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "store")


def diamond(a_value=1, c_value=10):
    """a -> b -> d <- c   (a and c are independent sources)."""
    a = Node("a", NUMBER, {"value": a_value})
    c = Node("c", NUMBER, {"value": c_value})
    b = Node("b", DOUBLE, inputs={"x": a})
    d = Node("d", ADD, inputs={"left": b, "right": c})
    return a, b, c, d


def run(targets, store, tmp_path, **kwargs):
    return engine.run(targets, store, work_root=tmp_path / "work", **kwargs)


def test_key_depends_on_params_and_upstream_only():
    assert Node("x", NUMBER, {"value": 1}).key == Node("renamed", NUMBER, {"value": 1}).key
    assert Node("x", NUMBER, {"value": 1}).key != Node("x", NUMBER, {"value": 2}).key
    assert diamond(a_value=1)[3].key != diamond(a_value=2)[3].key
    assert diamond(a_value=1)[2].key == diamond(a_value=2)[2].key


def test_nested_param_order_does_not_change_the_key():
    one = Node("x", NUMBER, {"value": {"k": 6, "t": 0.4}})
    two = Node("x", NUMBER, {"value": {"t": 0.4, "k": 6}})
    assert one.key == two.key


def test_node_rejects_unserialisable_params_and_name_clashes():
    with pytest.raises(TypeError, match="JSON-serialisable"):
        Node("x", NUMBER, {"value": object()})
    a = Node("a", NUMBER, {"value": 1})
    with pytest.raises(ValueError, match="both as parameter and input"):
        Node("x", DOUBLE, {"x": 1}, inputs={"x": a})


def test_runs_in_dependency_order_and_reuses_finished_keys(log, store, tmp_path):
    *_, d = diamond()
    first = run([d], store, tmp_path)
    assert first.ok and first.outcomes[d.key].result == {"value": 12}
    ran = calls(log)
    assert sorted(ran) == ["a", "b", "c", "d"] and ran.index("a") < ran.index("b") < ran.index("d")

    second = run([d], store, tmp_path)
    assert calls(log) == ran, "a second run must not execute anything"
    assert {o.status for o in second.outcomes.values()} == {engine.CACHED}
    assert second.outcomes[d.key].result == {"value": 12}


def test_changed_param_reruns_exactly_its_dependents(log, store, tmp_path):
    run([diamond(a_value=1)[3]], store, tmp_path)
    log.unlink()
    report = run([diamond(a_value=5)[3]], store, tmp_path)
    assert sorted(calls(log)) == ["a", "b", "d"]
    assert report.outcomes[diamond(a_value=5)[3].key].result == {"value": 20}
    assert [o.node.name for o in report.by_status(engine.CACHED)] == ["c"]


def test_failure_is_recorded_and_does_not_poison_independent_stages(log, store, tmp_path):
    a = Node("a", NUMBER, {"value": 3})
    bad = Node("bad", EXPLODE, inputs={"x": a})
    after_bad = Node("after_bad", DOUBLE, inputs={"x": bad})
    independent = Node("independent", DOUBLE, inputs={"x": a})
    report = run([after_bad, independent], store, tmp_path)

    assert not report.ok
    assert report.outcomes[bad.key].status == FAILED and "boom on 3" in report.outcomes[bad.key].error
    assert report.outcomes[after_bad.key].status == engine.SKIPPED
    assert "upstream bad failed" in report.outcomes[after_bad.key].error
    assert report.outcomes[independent.key].result == {"value": 6}
    assert "after_bad" not in calls(log)

    record = store.load(bad.key)
    assert record.status == FAILED and "RuntimeError: boom on 3" in record.error
    assert "Traceback" in record.data["traceback"]
    # A failed stage is retried by the next run; finished ones are not.
    log.unlink()
    run([after_bad, independent], store, tmp_path)
    assert calls(log) == ["bad"]


def test_half_written_result_is_detected_and_run_again(log, store, tmp_path):
    a, b, c, d = diamond()
    run([d], store, tmp_path)
    path = store.result_path(b.key)
    path.write_text(path.read_text()[: len(path.read_text()) // 2])  # a crash mid-write
    assert store.load(b.key).status == INCOMPLETE
    assert {i.node.name: i.reason for i in engine.plan([d], store)}["b"].startswith("incomplete")

    log.unlink()
    run([d], store, tmp_path)
    assert calls(log) == ["b"], "d's key did not change, b's result was only rewritten"
    assert store.load(b.key).status == DONE


def test_record_for_another_key_counts_as_incomplete(store):
    write_json_atomic(store.result_path("aaaa"), {"key": "bbbb", "status": DONE, "result": {}})
    assert store.load("aaaa").status == INCOMPLETE


def test_atomic_write_keeps_the_old_file_when_serialising_fails(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"ok": 1})
    circular: list = []
    circular.append(circular)
    with pytest.raises(ValueError):
        write_json_atomic(path, {"bad": circular})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert os.listdir(tmp_path) == ["r.json"], "no temporary file left behind"


def test_dry_run_says_what_would_run_and_why(log, store, tmp_path):
    a, b, c, d = diamond(a_value=1)
    assert {i.node.name: i.reason for i in engine.plan([d], store)} == {
        name: "missing: never run" for name in "abcd"}
    run([d], store, tmp_path)
    items = {i.node.name: i for i in engine.plan([diamond(a_value=2)[3]], store)}
    assert items["a"].action == "run" and items["a"].reason == "param changed: value 1 -> 2"
    assert items["b"].reason == "upstream changed: x"
    assert items["d"].reason == "upstream changed: left"
    assert items["c"].action == "reuse" and items["c"].reason == "cached"
    assert len(calls(log)) == 4, "planning runs nothing"


def test_parallel_jobs_run_in_worker_processes_with_the_same_results(log, store, tmp_path):
    *_, d = diamond()
    report = run([d], store, tmp_path, jobs=2)
    assert report.ok and report.outcomes[d.key].result == {"value": 12}
    pids = {line.split()[1] for line in log.read_text().splitlines()}
    assert str(os.getpid()) not in pids, "with jobs=2 stages run in worker processes"


def test_listener_sees_start_and_finish(log, store, tmp_path):
    events = []
    *_, d = diamond()
    run([d], store, tmp_path, listener=lambda event, node, outcome: events.append((event, node.name)))
    assert events.count(("finish", "d")) == 1 and events.index(("start", "d")) < events.index(("finish", "d"))


def test_with_jobs_n_at_most_n_stages_are_started_at_once(log, store, tmp_path):
    """A stage is reported started (and shown running) when a worker takes it, not when it is ready."""
    sources = [Node(f"s{i}", NUMBER, {"value": i}) for i in range(5)]
    events, started = [], set()

    def listen(event, node, outcome):
        (started.add if event == "start" else started.discard)(node.name)
        events.append(len(started))

    report = run(sources, store, tmp_path, jobs=2, listener=listen)
    assert report.ok and len(calls(log)) == 5
    assert max(events) == 2, f"stages started but unfinished, event by event: {events}"


def test_two_processes_that_both_decided_to_run_a_stage_run_it_once(log, store, tmp_path):
    """The race `run` cannot see: two processes pass the "is it running?" check at the same moment
    and both call `execute`. The stage's marker is claimed atomically, so one runs it and the
    other waits and takes its result."""
    from multiprocessing import get_context

    from pipeline.engine.execution import execute

    node = Node("slow", SLOW, {"seconds": 2.0})
    context = get_context("spawn")
    workers = [context.Process(target=execute, args=(node, {}, str(store.root), str(tmp_path / "work")))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert len(calls(log)) == 1, f"the stage ran in {len(calls(log))} processes"
    assert store.load(node.key).status == DONE
    assert not store.running_path(node.key).exists()
    assert sorted(p.name for p in store.running_path(node.key).parent.iterdir()) == ["result.json"]
