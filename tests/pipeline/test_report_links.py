"""One click from the report and from a table's parent run to its rows compared in MLflow; the
parent runs of re-run tables are told apart by profile, seeds, commit and time. (The URLs are opened
in a real browser against a real `mlflow server` in tests/docs/test_mlflow_ui.py.)"""
from __future__ import annotations

import json
import urllib.parse
from types import SimpleNamespace

from mlflow.tracking import MlflowClient

from pipeline.engine import Node, Stage
from pipeline.engine.results import StageResult
from pipeline.report.links import ui_base
from pipeline.stages.report import write_report
from pipeline.stages.table import aggregate_rows, caption
from pipeline.tracking import Tracker
from tests.pipeline.test_mlflow_records import AP, TABLE4, evaluated, row_children


def runs_of(url: str) -> list[str]:
    query = urllib.parse.parse_qs(url.split("?", 1)[1])
    return json.loads(query["runs"][0])


def test_a_table_parent_run_links_its_rows_compared_and_says_what_it_is(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke", commit="abcdef123456")
    rows = aggregate_rows(TABLE4, {f"{v}@seed0": evaluated(v) for v in AP})
    node = Node("table4", Stage("table", lambda ctx, **params: None), {"profile": "smoke", "table": "table4",
                                                             "dataset": "crowdhuman", "seeds": 2})
    run_id = tracker.before_node(node, SimpleNamespace(key="k" * 16))
    tracker.after_node(node, SimpleNamespace(run_id=run_id, key="k" * 16),
                       StageResult({"rows": rows}, children=row_children(TABLE4, rows)), {})
    client = MlflowClient(tracker.uri)
    parent = client.get_run(run_id)
    assert parent.info.run_name.startswith("table4 · smoke · 2 seeds · abcdef1 · 20"), parent.info.run_name
    url = parent.data.tags["dsla.compare_url"]
    children = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run_id}'")
    assert sorted(runs_of(url)) == sorted(r.info.run_id for r in children) and len(children) == 4
    assert f"[Compare the rows]({url})" in parent.data.tags["mlflow.note.content"]
    assert f"experiments=%5B%22{parent.info.experiment_id}%22%5D" in url

    # the report finds the table's run by the key its result was recorded under
    result = {"rows": rows, "caption": caption(TABLE4, "smoke", 1, rows)}
    write_report("smoke", {"table4": result}, None, tmp_path / "out", tracking_uri=tracker.uri, commit="c",
                 keys={"table4": "k" * 16})
    index = (tmp_path / "out" / "index.md").read_text()
    line = next(line for line in index.splitlines() if line.startswith("[Compare these rows in MLflow]("))
    link = line.split("](", 1)[1].rstrip(")")
    assert link.startswith("http://127.0.0.1:5000/#/compare-runs?")
    order = {r.info.run_id: r.data.tags["dsla.row"] for r in children}
    assert [order[r] for r in runs_of(link)] == ["baseline", "fs", "dsla", "dsla_fs"], "in the table's row order"


def test_the_ui_address_is_the_server_without_its_password_or_mlflow_uis_default():
    assert ui_base("http://user:secret@mlflow.lab:5000/") == "http://mlflow.lab:5000"
    assert ui_base("sqlite:///mlflow.db") == "http://127.0.0.1:5000"


def test_a_report_without_a_store_has_no_links_and_no_error(tmp_path):
    rows = aggregate_rows(TABLE4, {f"{v}@seed0": evaluated(v) for v in AP})
    result = {"rows": rows, "caption": "c"}
    write_report("smoke", {"table4": result}, None, tmp_path, tracking_uri=f"sqlite:///{tmp_path}/none.db", commit="c",
                 keys={"table4": "0" * 16})
    assert "Compare these rows" not in (tmp_path / "index.md").read_text()
    assert not (tmp_path / "none.db").exists(), "looking for links created a store"


