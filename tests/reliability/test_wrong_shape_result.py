"""A `result.json` that is valid JSON of the wrong shape (`{"status": "done", "result": {}}`) counts
as incomplete: `run`, `--dry-run` and `status` say so in one line and the stage runs again,
instead of a KeyError traceback that stays until the file is deleted."""
from __future__ import annotations

import json

from pipeline import engine
from pipeline.engine import Node, Stage
from pipeline.engine.store import DONE, INCOMPLETE, ResultStore
from pipeline.stages.train import check_result
from tests.reliability.test_truncated_files import write_checkpoint_stage


def _damage(store: ResultStore, key: str) -> None:
    path = store.result_path(key)
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "status": "done", "result": {}}))


def test_a_done_record_of_the_wrong_shape_is_incomplete_and_runs_again(tmp_path):
    node = Node("writer", Stage("writer", write_checkpoint_stage, check=check_result), {"value": 3})
    store, work = ResultStore(tmp_path / "store"), tmp_path / "work"
    assert engine.run([node], store, work_root=work).ok
    _damage(store, node.key)

    record = engine.load_record(node, store)
    assert record.status == INCOMPLETE
    assert "result.json" in record.error and "checkpoint" in record.error and "\n" not in record.error
    [item] = engine.plan([node], store)
    assert item.action == "run" and "lacks 'checkpoint'" in item.reason
    assert engine.run([node], store, work_root=work).outcomes[node.key].status == DONE


def test_a_table_record_of_the_wrong_shape_is_incomplete_in_status_and_left_out_of_the_report(tmp_path, monkeypatch,
                                                                                                capsys):
    import pickle

    from pipeline import cli
    from pipeline.graph import Pipeline

    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").table("table1")
    pickle.loads(pickle.dumps(node))  # its check travels to worker processes
    store = ResultStore(tmp_path / ".pipeline")
    store.save(node.key, {**node.provenance(), "status": "done", "result": {}})
    assert cli.main(["status", "table1", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert f"incomplete {node.key} table1  " in out and "the recorded Tabled lacks 'added_rows', 'caption'" in out
    assert cli.main(["report", "--profile", "smoke"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "table1: the recorded Tabled lacks 'added_rows', 'caption'" in err and "Traceback" not in err
