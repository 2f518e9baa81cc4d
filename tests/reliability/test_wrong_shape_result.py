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
