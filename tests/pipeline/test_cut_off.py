"""Early cut-off (as redun's): an upstream that runs again under a new key and produces the same
values leaves its dependents reused; different values run them. Plain Python stages."""
from __future__ import annotations

from pipeline import engine
from pipeline.engine import Node, ResultStore, Stage

RAN: list[str] = []


def number(ctx, value, note=""):
    """`note` changes the key, never the value (as a refactored data generator writing the same bytes)."""
    RAN.append(ctx.node)
    return {"value": value}


def double(ctx, x):
    RAN.append(ctx.node)
    return {"value": 2 * x["value"]}


NUMBER, DOUBLE = Stage("number", number), Stage("double", double)


def chain(value, note):
    source = Node("source", NUMBER, {"value": value, "note": note})
    doubled = Node("double", DOUBLE, inputs={"x": source})
    return source, doubled, Node("quadruple", DOUBLE, inputs={"x": doubled})


def test_an_upstream_recomputed_to_the_same_values_leaves_its_dependents_reused(tmp_path):
    store = ResultStore(tmp_path / "store")
    _, _, last = chain(3, "first")
    assert engine.run([last], store, work_root=tmp_path / "w").ok
    RAN.clear()
    source, doubled, last = chain(3, "a refactor")  # new keys all the way down, equal values
    report = engine.run([last], store, work_root=tmp_path / "w")
    assert RAN == ["source"], "only the re-keyed upstream runs; its equal result cuts the rest off"
    assert [report.outcomes[n.key].status for n in (source, doubled, last)] == [engine.DONE, engine.CACHED, engine.CACHED]
    assert report.outcomes[last.key].result == {"value": 12}
    assert report.outcomes[doubled.key].reused_from is not None
    record = store.load(doubled.key)
    assert record.status == engine.DONE and record.data["reused_from"] == report.outcomes[doubled.key].reused_from
    RAN.clear()
    assert engine.run([last], store, work_root=tmp_path / "w").ok and RAN == [], "now cached under their own keys"


def test_an_upstream_with_other_values_runs_its_dependents(tmp_path):
    store = ResultStore(tmp_path / "store")
    _, _, last = chain(3, "first")
    engine.run([last], store, work_root=tmp_path / "w")
    RAN.clear()
    _, _, last = chain(4, "first")
    report = engine.run([last], store, work_root=tmp_path / "w")
    assert RAN == ["source", "double", "quadruple"] and report.outcomes[last.key].result == {"value": 16}


def test_a_result_of_the_wrong_shape_is_not_taken_by_cut_off(tmp_path):
    store = ResultStore(tmp_path / "store")
    _, doubled, last = chain(3, "first")
    engine.run([last], store, work_root=tmp_path / "w")
    checked = Stage("double", double, check=lambda result: "rejected" if result["value"] == 6 else None)
    source = Node("source", NUMBER, {"value": 3, "note": "again"})
    again = Node("double", checked, inputs={"x": source})
    RAN.clear()
    engine.run([again], store, work_root=tmp_path / "w")
    assert RAN == ["source", "double"], "a record its stage's check rejects is never reused"
