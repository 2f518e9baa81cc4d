"""What MLflow shows a researcher: table row runs with every knob, the paper's numbers and the
difference to the baseline; run names that lead with what differs; experiment descriptions."""
from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from experiments import tables as defs
from pipeline.engine import Node, Stage
from pipeline.stages.table import aggregate_rows
from pipeline.tracking import Tracker
from pipeline.tracking.records import row_params, row_runs, run_name


def row_children(spec, rows: dict):
    """The row runs the tracker logs for a table (`records.row_runs`), each row's numbers coming from
    the evaluate run `eval-<row>` of the training `train-<row>`."""
    return row_runs(spec, rows, {row: [f"eval-{row}"] for row in rows}, {row: [f"train-{row}"] for row in rows})


def log_rows(tracker, parent_run_id: str, spec, rows: dict, dataset: str) -> list[str]:
    """The table's row runs logged as the engine's tracker logs a `StageResult`'s children; their ids."""
    return [tracker.child_run(parent_run_id, child.name, dataset, tags=child.tags, params=child.params,
                              metrics=child.metrics) for child in row_children(spec, rows)]


TABLE4 = defs.tables("smoke")["table4"]
AP = {"baseline": 0.10, "fs": 0.12, "dsla": 0.13, "dsla_fs": 0.15}
KNOBS = {"baseline": {"lambda_o2o": 1.0}, "fs": {"lambda_o2o": 1.0, "S": 16},
         "dsla": {"lambda_o2o": 1.0, "K": 6, "t_max": 0.6, "t_min": 0.4, "lambda_sla": 1.0},
         "dsla_fs": {"lambda_o2o": 1.0, "K": 6, "t_max": 0.6, "t_min": 0.4, "lambda_sla": 1.0, "S": 16}}


def evaluated(variant: str) -> dict:
    run = defs.Train("crowdhuman", variant)
    return {"metrics": {"AP": AP[variant], "MR2": 0.8, "JI": 0.3, "Recall": 0.9}, "knobs": KNOBS[variant],
            "data": "synthetic crowd preset", "weights": "random init",
            "run": {"profile": "smoke", "dataset": "crowdhuman", "variant": variant, "seed": 0, **run.overrides()}}


@pytest.fixture
def logged(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke", commit="abc")
    rows = aggregate_rows(TABLE4, {f"{v}@seed0": evaluated(v) for v in AP})
    parent = tracker.start_run("table4", "crowdhuman")
    log_rows(tracker, parent, TABLE4, rows, "crowdhuman")
    client = MlflowClient(tracker.uri)
    experiment = client.get_experiment_by_name("dsla/smoke/crowdhuman")
    runs = {r.data.tags["dsla.row"]: r for r in client.search_runs(
        [experiment.experiment_id], "tags.`dsla.stage` = 'table-row'")}
    return client, experiment, runs


def test_row_runs_carry_every_knob_and_the_fs_dsla_flags(logged):
    _, _, runs = logged
    assert set(runs) == set(AP)
    params = {row: run.data.params for row, run in runs.items()}
    assert (params["baseline"]["FS"], params["baseline"]["DSLA"]) == ("no", "no")
    assert (params["dsla_fs"]["FS"], params["dsla_fs"]["DSLA"]) == ("yes", "yes")
    assert (params["fs"]["FS"], params["dsla"]["DSLA"]) == ("yes", "yes")
    for name in ("K", "t_max", "t_min", "S", "lambda_o2o", "lambda_sla"):
        assert all(name in p for p in params.values()), name
    assert params["dsla_fs"]["K"] == "6" and params["dsla_fs"]["S"] == "16" and params["baseline"]["K"] == "–"
    assert params["dsla"]["t_min"] == "0.4"
    assert row_params({"run": {"variant": "dsla"}, "knobs": {"t_min": 0.1 + 0.2}})["t_min"] == "0.3"


def test_row_runs_have_ours_the_papers_and_the_differences_to_the_baseline_as_fractions(logged):
    _, _, runs = logged
    dsla_fs = runs["dsla_fs"].data.metrics
    assert dsla_fs["AP"] == pytest.approx(0.15), "AP is a fraction in every run (0.15, not 15)"
    assert dsla_fs["AP_paper"] == pytest.approx(0.917)
    assert dsla_fs["AP_vs_baseline"] == pytest.approx(0.05)
    assert dsla_fs["AP_paper_vs_baseline"] == pytest.approx(0.917 - 0.901)
    assert runs["baseline"].data.metrics["AP_vs_baseline"] == pytest.approx(0.0)
    assert dsla_fs["MR2_paper"] == pytest.approx(0.472)


def test_row_runs_are_named_row_first_and_describe_themselves_with_links(logged):
    _, experiment, runs = logged
    assert runs["dsla_fs"].info.run_name == "dsla_fs · table4"
    note = runs["dsla_fs"].data.tags["mlflow.note.content"]
    assert "FS yes, DSLA yes" in note and "K = 6" in note
    assert "AP 15.00 % (paper 91.70), +5.00 vs baseline (paper +1.60)" in note
    assert "(#/runs/train-dsla_fs?workflowType=machine_learning)" in note
    # the curve link overlays the baseline's training and the row's, in their experiment (MLflow's
    # metric page fails with '"undefined" is not valid JSON' without `experiments=`)
    assert ("(#/metric?runs=%5B%22train-baseline%22%2C%22train-dsla_fs%22%5D&metric=%22val/AP%22"
            f"&experiments=%5B%22{experiment.experiment_id}%22%5D") in note


def test_experiments_describe_themselves_and_open_in_the_model_training_view(logged):
    _, experiment, _ = logged
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "profile **smoke**" in experiment.tags["mlflow.note.content"]


def test_stage_run_names_lead_with_what_differs():
    stage = Stage("train", lambda ctx, **kw: {})
    train = Node("train:crowdhuman/dsla_fs,K=8,t_max=0.6,t_min=0.4/seed1", stage,
                 {"profile": "smoke", "dataset": "crowdhuman", "variant": "dsla_fs", "seed": 1,
                  "overrides": {"K": 8, "t_max": 0.6, "t_min": 0.30000000000000004}})
    assert run_name(train) == "dsla_fs K=8 T=0.6→0.3 · train crowdhuman s1"
    evaluate = Node("evaluate:crowdhuman/dsla_fs,K=8/seed1", Stage("evaluate", lambda ctx, **kw: {}),
                    {"profile": "smoke", "dataset": "crowdhuman"}, inputs={"trained": train})
    assert run_name(evaluate).startswith("dsla_fs K=8 T=0.6→0.3 · evaluate")
    baseline = Node("b", stage, {"dataset": "coco", "variant": "baseline", "seed": 0, "overrides": {}})
    assert run_name(baseline) == "baseline · train coco s0"


def test_the_checkpoint_is_a_logged_model_even_with_dots_in_its_knobs(tmp_path):
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke", commit="abc")
    run_id = tracker.start_run("dsla_fs K=6 T=0.6→0.4 · train crowdhuman s0", "crowdhuman")
    (tmp_path / "epoch_2.pth").write_bytes(b"weights")
    (tmp_path / "config.py").write_text("model = dict()\n")
    model_id = tracker.log_checkpoint(run_id, "crowdhuman", [tmp_path / "epoch_2.pth", tmp_path / "config.py"],
                                      name="dsla_fs-crowdhuman-K6-t_max0.6-t_min0.4", params={"t_max": 0.6}, step=2)
    assert model_id is not None, tracker.client.get_run(run_id).data.tags.get("dsla.model_error")
    model = tracker.client.get_logged_model(model_id)
    assert model.source_run_id == run_id and model.name == "dsla_fs-crowdhuman-K6-t_max0_6-t_min0_4"
    assert {a.path for a in tracker.client.list_logged_model_artifacts(model_id)} == {"epoch_2.pth", "config.py"}
