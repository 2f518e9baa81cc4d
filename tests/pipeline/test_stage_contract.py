"""The stage contract: a stage returns a `StageResult`; the engine records its values, hands them to
dependents and passes the whole result to its node hooks (tracking); `Stopped` is its own outcome.
Plain Python: the hooks here record their calls."""
from __future__ import annotations

from dataclasses import dataclass

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

    def after_node(self, node, ctx, result, inputs):
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


# --- contracts checked when the graph is built (typed results, bound parameters) ---------------

@dataclass(frozen=True)
class Prepared:
    data_root: str


@dataclass(frozen=True)
class Trained:
    checkpoint: str
    epochs: int


def prepare_typed(ctx, *, root: str) -> Prepared:
    return Prepared(data_root=root)


def train_typed(ctx, *, epochs: int, prepared: Prepared) -> StageResult:
    assert isinstance(prepared, Prepared), type(prepared)  # the engine hands back the dataclass
    return StageResult(Trained(checkpoint=f"{prepared.data_root}/epoch_{epochs}.pth", epochs=epochs),
                       metrics={"epochs": epochs})


def evaluate_typed(ctx, *, trained: Trained) -> dict:
    return {"checkpoint": trained.checkpoint, "typed": isinstance(trained, Trained)}


PREPARE_T = Stage("prepare", prepare_typed)
TRAIN_T = Stage("train", train_typed, returns=Trained)
EVALUATE_T = Stage("evaluate", evaluate_typed)


def test_typed_results_are_recorded_as_json_and_handed_back_as_their_dataclass(store, tmp_path):
    prepared = Node("prepare", PREPARE_T, {"root": "/data"})
    trained = Node("train", TRAIN_T, {"epochs": 2}, inputs={"prepared": prepared})
    evaluated = Node("evaluate", EVALUATE_T, inputs={"trained": trained})
    report = engine.run([evaluated], store, work_root=tmp_path / "work")
    assert report.outcomes[evaluated.key].result == {"checkpoint": "/data/epoch_2.pth", "typed": True}
    assert store.load(trained.key).result == {"checkpoint": "/data/epoch_2.pth", "epochs": 2}
    assert PREPARE_T.result_type is Prepared and TRAIN_T.result_type is Trained and EVALUATE_T.result_type is None
    # `-> StageResult` (the project's stages) and `-> dict` declare no result type: dicts go on
    assert MEASURED.result_type is None and Stage("t", train_typed).result_type is None


def test_a_typo_in_a_parameter_fails_when_the_node_is_built_in_one_line():
    from pipeline.graph import EVALUATE, Pipeline

    prepared = Pipeline("smoke").prepare("crowdhuman")
    with pytest.raises(TypeError) as error:
        Node("evaluate:typo", EVALUATE, {"profle": "smoke", "dataset": "crowdhuman"},
             inputs={"trained": prepared, "prepared": prepared})
    assert str(error.value).startswith("node 'evaluate:typo': unknown parameter 'profle' (stage 'evaluate' takes ")
    assert "\n" not in str(error.value)
    with pytest.raises(TypeError, match=r"^node 'evaluate:short': missing a required argument: 'trained'"):
        Node("evaluate:short", EVALUATE, {"profile": "smoke", "dataset": "crowdhuman"}, inputs={"prepared": prepared})


def test_an_input_of_the_wrong_type_fails_when_the_node_is_built_in_one_line():
    prepared = Node("prepare", PREPARE_T, {"root": "/data"})
    with pytest.raises(TypeError) as error:
        Node("evaluate:wired-wrong", EVALUATE_T, inputs={"trained": prepared})
    assert str(error.value) == ("node 'evaluate:wired-wrong': input 'trained' is a Prepared (node 'prepare', "
                                "stage 'prepare'); stage 'evaluate' expects Trained")


def test_every_node_of_every_profile_binds_to_its_stage():
    from pipeline.engine import in_order
    from pipeline.graph import Pipeline

    for profile in ("smoke", "tiny"):
        assert len(in_order([Pipeline(profile).target("reproduce-tables")])) > 30


def test_the_prepare_stage_hands_a_typed_prepared_to_the_stages_that_declare_it():
    from pipeline.graph import EVALUATE, PREPARE, QUALITATIVE, TABLE, TRAIN
    from pipeline.stages.contracts import Counted, Evaluated, Prepared

    assert PREPARE.result_type is Prepared
    assert TRAIN.wanted_types("prepared") == (Prepared,)  # `Prepared | None`: `pipeline train CONFIG` has none
    assert EVALUATE.wanted_types("prepared") == (Prepared,) and QUALITATIVE.wanted_types("prepared") == (Prepared,)
    recorded = {"data_root": "/d/", "train_ann": "t", "val_ann": "v", "curve_ann": "v", "density": {},
                "annotations": ["t", "v"], "images": ["Images"], "fingerprint": "f", "content": "c", "description": "d"}
    assert EVALUATE.typed_input("prepared", recorded, PREPARE) == Prepared(**recorded)
    # a table's `**inputs: Evaluated | Prepared | Counted` take each of them typed (Table 1's density row)
    assert set(TABLE.wanted_types("density")) == {Evaluated, Prepared, Counted}
    assert TABLE.typed_input("density", recorded, PREPARE) == Prepared(**recorded)


def test_every_stage_of_the_graph_declares_its_result_type_and_every_input_is_checked():
    """Each stage returns a dataclass of `stages/contracts.py`; each input of each node of the
    default run is one its consumer's parameter is annotated with (so none is handed on unchecked)."""
    from pipeline import graph
    from pipeline.engine import in_order
    from pipeline.stages import contracts

    stages = [graph.PREPARE, graph.TRAIN, graph.EVALUATE, graph.COMPLEXITY, graph.TABLE, graph.FIGURE,
              graph.QUALITATIVE, graph.REPORT]
    assert all(stage.result_type is not None and stage.result_type.__module__ == contracts.__name__
               for stage in stages), [s.name for s in stages if s.result_type is None]
    for node in in_order([graph.Pipeline("tiny").target("reproduce-tables")]):
        for arg, upstream in node.inputs.items():
            assert upstream.stage.result_type in node.stage.wanted_types(arg), (node.name, arg)


def test_a_table_fed_a_training_instead_of_its_evaluation_fails_when_built():
    from pipeline.graph import Pipeline

    pipeline = Pipeline("smoke")
    table = pipeline.table("table4")
    inputs = dict(table.inputs)
    name = next(n for n in inputs if n.startswith("baseline@seed"))
    inputs[name] = inputs[name].inputs["trained"]  # the training, not its evaluation
    with pytest.raises(TypeError) as error:
        Node("table4", table.stage, table.params, inputs=inputs)
    assert str(error.value).startswith(f"node 'table4': input '{name}' is a Trained (node 'train:")
    assert str(error.value).endswith("stage 'table' expects Evaluated or Prepared or Counted")


def test_an_untyped_producer_cannot_feed_a_typed_parameter():
    untyped = Node("prepare", Stage("prepare", lambda ctx, root: {"data_root": root}), {"root": "/d"})
    with pytest.raises(TypeError, match=r"^node 'train': input 'prepared' is untyped \(a dict\) \(node 'prepare', "
                                         r"stage 'prepare'\); stage 'train' expects Prepared$"):
        Node("train", TRAIN_T, {"epochs": 1}, inputs={"prepared": untyped})


def test_the_real_graph_refuses_a_prepared_where_evaluate_takes_a_trained_when_built():
    from pipeline.graph import EVALUATE, TRAIN, Pipeline
    from pipeline.stages.contracts import Trained

    assert TRAIN.result_type is Trained and EVALUATE.wanted_types("trained") == (Trained,)
    prepared = Pipeline("smoke").prepare("crowdhuman")
    with pytest.raises(TypeError) as error:
        Node("evaluate:wired-wrong", EVALUATE, {"profile": "smoke", "dataset": "crowdhuman"},
             inputs={"trained": prepared, "prepared": prepared})
    assert str(error.value) == ("node 'evaluate:wired-wrong': input 'trained' is a Prepared (node 'prepare:crowdhuman', "
                                "stage 'prepare'); stage 'evaluate' expects Trained")
