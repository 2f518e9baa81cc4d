"""`pipeline run reproduce-tables --profile smoke` end to end, against a real MLflow SQLite store.

Checks the tables' shape and provenance, the MLflow record (experiments, stage runs tagged with
their keys, metric histories, table parent runs with row children pointing at their training
runs) and that a second run trains nothing.
"""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from experiments import tables as defs
from pipeline import cli
from pipeline.engine.store import ResultStore
from pipeline.graph import Pipeline
from pipeline.report.render import paper_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """Run reproduce-tables twice in a fresh working directory; yield (dir, uri, outputs)."""
    work = tmp_path_factory.mktemp("reproduce")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    argv = ["run", "reproduce-tables", "--profile", "smoke", "--tracking-uri", uri, "--no-progress", "--jobs", "2"]
    try:
        first = cli.main(argv)
        from mlflow.tracking import MlflowClient
        client = MlflowClient(uri)
        experiments = {e.name: e.experiment_id for e in client.search_experiments()}
        runs_after_first = client.search_runs(list(experiments.values()), max_results=1000)
        second = cli.main(argv)
        runs_after_second = client.search_runs(list(experiments.values()), max_results=1000)
        yield {"dir": work, "uri": uri, "codes": (first, second), "client": client, "experiments": experiments,
               "runs": runs_after_first, "runs_second": runs_after_second}
    finally:
        mp.undo()


def test_both_runs_succeed_and_the_second_trains_nothing(reproduced):
    assert reproduced["codes"] == (0, 0)
    assert len(reproduced["runs_second"]) == len(reproduced["runs"]), "the second run created MLflow runs"


def test_every_table_exists_in_three_formats_with_the_paper_beside_ours(reproduced):
    out = reproduced["dir"] / "reports" / "out" / "smoke"
    tables = defs.tables("smoke")
    for name, table in tables.items():
        for ext in ("md", "csv", "tex"):
            assert (out / f"{name}.{ext}").stat().st_size > 0, f"{name}.{ext}"
        frame = pd.read_csv(out / f"{name}.csv", dtype={"id": str}).set_index("id")
        paper = paper_frame(name)
        assert len(frame) == len(set(paper["id"]) | {row.id for row in table.rows}), name
        for metric in table.metrics:
            ours = frame.loc[[row.id for row in table.rows], f"{metric} (ours)"]
            assert ours.notna().all() and (ours >= 0).all(), f"{name}: {metric} (ours) missing"
            assert f"{metric} (paper)" in frame.columns
        md = (out / f"{name}.md").read_text()
        assert "profile `smoke`" in md, f"{name} does not say which profile its numbers came from"
    table4 = pd.read_csv(out / "table4.csv").set_index("id")
    assert list(table4.index) == ["baseline", "fs", "dsla", "dsla_fs", "prior"]  # prior: a row of ours
    assert table4.at["prior", "source"] == "ours"
    assert all(0 <= v <= 100 for v in table4["AP (ours)"]) and table4.at["dsla_fs", "AP (paper)"] == 91.7
    assert "synthetic crowd preset" in (out / "table4.md").read_text()
    assert "quoted from the paper" in set(pd.read_csv(out / "table2.csv")["source"])
    assert "inferred" in (out / "table7.md").read_text()
    table5 = pd.read_csv(out / "table5.csv").set_index("id")
    assert table5.at["baseline/infer", "params_M (ours)"] == table5.at["dsla_fs/infer", "params_M (ours)"]
    assert table5.at["dsla_fs/train", "params_M (ours)"] > table5.at["dsla_fs/infer", "params_M (ours)"]
    assert (out / "figure4.png").read_bytes()[:4] == b"\x89PNG"
    index = (out / "index.md").read_text()
    assert reproduced["uri"] in index and "Not produced yet" not in index
    assert (out / "feature_shuffle.png").exists() and (out / "detections_0.png").exists()
    # the Claims section opens the report: every claim with a computed verdict (one seed on smoke:
    # no interval, so nothing is decided except the counted inference cost)
    assert index.index("## Claims") < index.index("**Table 1")
    claims = json.loads((out / "claims.json").read_text())
    assert len(claims) == 13 + 3 and {c["verdict"] for c in claims} <= {"supported", "not resolved", "contradicted"}
    assert {c["claim"]: c["verdict"] for c in claims}["Inference cost is unchanged"] == "supported"
    assert "backbone start: MobileNetV2Features" in (out / "table4.md").read_text()


def test_the_report_run_carries_the_claims_as_tags_and_artifacts(reproduced):
    client, runs = reproduced["client"], reproduced["runs"]
    [report] = [r for r in runs if r.data.tags.get("dsla.node") == "report"]
    tags = {k: v for k, v in report.data.tags.items() if k.startswith("dsla.claim.")}
    assert len(tags) == 13 + 3 and tags["dsla.claim.inference_cost_is_unchanged"].startswith("supported")
    assert "claims.md" in {a.path.split("/")[-1] for a in client.list_artifacts(report.info.run_id, "report")}


def test_mlflow_holds_stage_runs_with_keys_curves_and_table_children(reproduced):
    client, runs = reproduced["client"], reproduced["runs"]
    assert {"dsla/smoke/crowdhuman", "dsla/smoke/coco", "dsla/smoke/report"} <= set(reproduced["experiments"])
    assert all(r.info.status == "FINISHED" for r in runs)
    store = ResultStore(reproduced["dir"] / ".pipeline")
    trains = [r for r in runs if r.data.tags.get("dsla.stage") == "train"]
    assert len(trains) == 8 + 1  # + Table 4's prior-matched baseline (experiments/ablations.py)
    curves = 0
    for run in trains:
        record = store.load(run.data.tags["dsla.key"])
        assert record.status == "done" and record.data["run_id"] == run.info.run_id
        # Figure 4's runs validate after every epoch, the others once after their last (both: every epoch's losses)
        validated = [e["epoch"] for e in record.result["epochs"]]
        epochs = validated[-1]
        assert validated == (list(range(1, epochs + 1)) if record.data["params"]["val_every_epoch"] else [epochs])
        curves += record.data["params"]["val_every_epoch"]
        assert [m.step for m in client.get_metric_history(run.info.run_id, "val/AP")] == validated
        assert len(client.get_metric_history(run.info.run_id, "train/loss_o2o_cls")) == epochs
        if run.data.params["variant"] in ("fs", "dsla_fs"):
            assert int(run.data.params["S"]) > 0, "S is logged even when the table does not set it"
        if run.data.params["variant"] in ("dsla", "dsla_fs"):
            assert {"K", "t_max", "t_min", "lambda_o2o", "lambda_sla"} <= set(run.data.params)
            assert len(client.get_metric_history(run.info.run_id, "train/loss_sla_cls")) == epochs
            t_j = [m.value for m in client.get_metric_history(run.info.run_id, "sla/T_j")]
            assert len(t_j) == epochs and math.isclose(t_j[0], float(run.data.params["t_max"]))
        assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"config.py", "logs"}
        assert run.data.tags["mlflow.source.git.commit"]
    assert curves == 7  # the claim runs, validated every epoch: Table 4's five rows, Table 8's two (one seed)

    by_id = {r.info.run_id: r for r in runs}
    [table4] = [r for r in runs if r.data.tags.get("dsla.node") == "table4"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == table4.info.run_id]
    assert sorted(r.data.tags["dsla.row"] for r in children) == ["baseline", "dsla", "dsla_fs", "fs", "prior"]
    for child in children:
        [train_id] = child.data.tags["dsla.train_run_ids"].split(",")
        assert by_id[train_id].data.tags["dsla.stage"] == "train" and "AP" in child.data.metrics
    assert {a.path for a in client.list_artifacts(table4.info.run_id, "table")} == {
        "table/table4.md", "table/table4.csv", "table/table4.tex"}
    [complexity] = [r for r in runs if r.data.tags.get("dsla.node") == "complexity:crowdhuman/dsla_fs/train"]
    assert complexity.data.metrics["params"] > 0 and complexity.data.metrics["GFLOPs"] > 0
    # Figure 4's run (in the report's experiment) names the trainings behind its curves (in the
    # datasets' experiments), found by their keys; the report links them overlaid
    import json
    [figure] = [r for r in runs if r.data.tags.get("dsla.stage") == "figure"]
    behind = json.loads(figure.data.tags["dsla.train_run_ids"])
    assert {"crowdhuman/baseline@seed0", "crowdhuman/dsla_fs@seed0"} <= set(behind)
    assert all(by_id[run_id].data.tags["dsla.stage"] == "train" for run_id in behind.values())
    index = (reproduced["dir"] / "reports" / "out" / "smoke" / "index.md").read_text()
    assert "[Baseline vs DSLA + FS, val/AP per epoch overlaid, in MLflow](http" in index
    [table1] = [r for r in runs if r.data.tags.get("dsla.node") == "table1"]  # rows from the prepare runs
    assert all(r.data.tags["dsla.evaluate_run_ids"] for r in runs if r.data.tags.get("mlflow.parentRunId") == table1.info.run_id)


def test_a_changed_knob_would_rerun_only_its_own_runs(reproduced, monkeypatch):
    monkeypatch.chdir(reproduced["dir"])
    from pipeline import engine
    pipeline = Pipeline("smoke")
    store = ResultStore(".pipeline")
    changed = defs.Train("crowdhuman", "dsla_fs", K=5)
    todo = [i.node.name for i in engine.plan([pipeline.evaluate(changed)], store) if i.action == "run"]
    assert todo == ["train:crowdhuman/dsla_fs,K=5,t_max=0.6,t_min=0.4/seed0",
                    "evaluate:crowdhuman/dsla_fs,K=5,t_max=0.6,t_min=0.4/seed0"]
    assert all(i.action == "reuse" for i in engine.plan([pipeline.report()], store))
    assert json.loads(store.result_path(pipeline.report().key).read_text())["status"] == "done"
