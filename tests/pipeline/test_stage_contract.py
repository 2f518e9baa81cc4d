"""The stage contract: a stage returns a `StageResult`; the engine records its values, hands them to
dependents and passes the whole result to its node hooks (tracking); `Stopped` is its own outcome.
Plain Python: the hooks here record their calls."""
from __future__ import annotations

import pytest

from pipeline import engine
from pipeline.engine import Node, NodeHooks, ResultStore, Stage, StageResult, Stopped


def measured(ctx, value):
    return StageResult({"value": value}, metrics={"AP": value / 10}, tags={"t": "x"}, artifacts={"a": ["f.txt"]})


def plus_one(ctx, x):
    return {"value": x["value"] + 1}


def pruned(ctx, value):
    raise Stopped(f"pruned after epoch {value}")


def broken(ctx, value):
    return StageResult({"value": object()})


MEASURED, PLUS_ONE, PRUNED, BROKEN = (Stage("measured", measured), Stage("plus_one", plus_one),
                                      Stage("pruned", pruned), Stage("broken", broken))


class Recorder(NodeHooks):
    def __init__(self, fail_after: bool = False):
        self.calls, self.fail_after = [], fail_after

    def before_node(self, node, ctx):
        self.calls.append(("before", node.name))
        return f"run-{node.name}"

    def after_node(self, node, ctx, result):
        self.calls.append(("after", node.name, ctx.run_id, result.values, result.metrics, result.tags, result.artifacts))
        if self.fail_after:
            raise ConnectionError("tracking server went away")

    def on_node_stopped(self, node, ctx, reason):
        self.calls.append(("stopped", node.name, ctx.run_id, reason))

    def on_node_error(self, node, ctx, error):
        self.calls.append(("error", node.name, ctx.run_id, type(error).__name__))


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "store")


def test_hooks_get_the_whole_result_the_store_and_dependents_get_its_values(store, tmp_path):
    source = Node("m", MEASURED, {"value": 5})
    child = Node("p", PLUS_ONE, inputs={"x": source})
    hooks = Recorder()
    report = engine.run([child], store, work_root=tmp_path / "w", tracker=hooks)
    assert report.ok and report.outcomes[child.key].result == {"value": 6}
    assert hooks.calls == [("before", "m"), ("after", "m", "run-m", {"value": 5}, {"AP": 0.5}, {"t": "x"}, {"a": ["f.txt"]}),
                           ("before", "p"), ("after", "p", "run-p", {"value": 6}, {}, {}, {})]
    record = store.load(source.key)
    assert record.result == {"value": 5} and record.data["run_id"] == "run-m"


def test_stopped_is_neither_done_nor_failed_and_runs_again(store, tmp_path):
    stopped = Node("s", PRUNED, {"value": 2})
    after = Node("after", PLUS_ONE, inputs={"x": stopped})
    hooks = Recorder()
    report = engine.run([after], store, work_root=tmp_path / "w", tracker=hooks)
    assert report.outcomes[stopped.key].status == engine.STOPPED
    assert report.outcomes[stopped.key].error == "pruned after epoch 2"
    assert report.outcomes[after.key].status == engine.SKIPPED and not report.ok
    assert ("stopped", "s", "run-s", "pruned after epoch 2") in hooks.calls
    assert not any(call[0] == "error" for call in hooks.calls)
    assert store.load(stopped.key).status == engine.STOPPED
    [first, _] = engine.plan([after], store)
    assert (first.action, first.reason) == ("run", "stopped before: pruned after epoch 2")


def test_a_hook_failing_after_the_stage_fails_the_execution(store, tmp_path):
    node = Node("m", MEASURED, {"value": 1})
    hooks = Recorder(fail_after=True)
    report = engine.run([node], store, work_root=tmp_path / "w", tracker=hooks)
    assert report.outcomes[node.key].status == engine.FAILED
    assert "ConnectionError: tracking server went away" in report.outcomes[node.key].error
    assert hooks.calls[-1] == ("error", "m", "run-m", "ConnectionError")


def test_values_the_store_cannot_keep_fail_the_stage(store, tmp_path):
    node = Node("b", BROKEN, {"value": 1})
    report = engine.run([node], store, work_root=tmp_path / "w")
    assert report.outcomes[node.key].status == engine.FAILED
    assert "not JSON serializable" in report.outcomes[node.key].error
