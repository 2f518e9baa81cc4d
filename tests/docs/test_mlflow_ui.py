"""MLflow's UI as a researcher sees it, in a real headless Chromium against a real `mlflow server`:
Table 4's rows compared on one page (FS / DSLA flags, knobs, AP and its difference to the
baseline), two training curves on one chart, the model-training view (not GenAI).

The runs are logged by the pipeline's own code (`Tracker`, the table stage's `row_runs`) from
hand-made evaluation results, so the test takes a minute rather than four trainings; the
screenshots of docs/mlflow.md come from real trainings (scripts/mlflow_screenshots.py)."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from experiments import tables as defs
from pipeline.report.links import Links
from pipeline.stages.table import aggregate_rows
from pipeline.tracking import Tracker
from pipeline.tracking.records import row_runs


def log_rows(tracker, parent_run_id: str, spec, rows: dict, dataset: str, trains: dict) -> list[str]:
    """The table's row runs logged as the engine's tracker logs a table's children; their ids."""
    children = row_runs(spec, rows, {}, {row: [trains[row]] for row in rows})
    return [tracker.child_run(parent_run_id, child.name, dataset, tags=child.tags, params=child.params,
                              metrics=child.metrics) for child in children]


defs = defs

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    reason="needs Chromium (apt-get install chromium)")]

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("mlflow_screenshots", REPO / "scripts" / "mlflow_screenshots.py")
shots = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shots)

AP = {"baseline": 0.10, "fs": 0.12, "dsla": 0.13, "dsla_fs": 0.15}


def evaluated(variant: str) -> dict:
    run = defs.Train("crowdhuman", variant)
    knobs = {**run.overrides(), "lambda_o2o": 1.0, **({"S": 16} if "fs" in variant else {})}
    return {"metrics": {"AP": AP[variant], "MR2": 0.8, "JI": 0.3, "Recall": 0.9}, "knobs": knobs,
            "data": "synthetic crowd preset", "weights": "random init",
            "run": {"profile": "smoke", "dataset": "crowdhuman", "variant": variant, "seed": 0, **run.overrides()}}


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-ui")
    with shots.MlflowServer(folder) as server, shots.Chromium() as browser:
        tracker = Tracker(server.url, "smoke", commit="test")
        trains = {}
        for variant in AP:
            run_id = tracker.start_run(f"{variant} · train crowdhuman s0", "crowdhuman", params={"variant": variant})
            for epoch in (1, 2, 3):
                tracker.log_metrics(run_id, {"val/AP": AP[variant] * epoch / 3}, step=epoch)
            tracker.client.set_terminated(run_id, "FINISHED")
            trains[variant] = run_id
        rows = aggregate_rows(defs.tables("smoke")["table4"], {f"{v}@seed0": evaluated(v) for v in AP})
        # the table's and the figure's runs, tagged with their keys as the tracker tags every execution
        parent = tracker.start_run("table4", "crowdhuman", tags={"dsla.key": "t" * 16})
        row_ids = log_rows(tracker, parent, defs.tables("smoke")["table4"], rows, "crowdhuman", trains)
        tracker.client.set_terminated(parent, "FINISHED")
        figure = tracker.start_run("figure4", "report", tags={"dsla.key": "f" * 16, "dsla.train_run_ids": json.dumps(
            {f"crowdhuman/{v}@seed0": trains[v] for v in ("baseline", "dsla_fs")})})
        tracker.client.set_terminated(figure, "FINISHED")
        yield {"server": server, "browser": browser, "experiment": tracker.experiment_id("crowdhuman"),
               "rows": row_ids, "trains": trains, "out": folder, "parent": parent, "aggregated": rows,
               "tracker": tracker}


def test_baseline_vs_dsla_compare_shows_flags_knobs_and_the_ap_difference_on_one_page(ui):
    baseline, dsla_fs = ui["rows"][0], ui["rows"][-1]
    text = ui["browser"].page(shots.compare_url(ui["server"].url, [baseline, dsla_fs], [ui["experiment"]]),
                              wait_for=("AP_vs_baseline",), screenshot=ui["out"] / "compare.png", size=(1500, 2400))
    params, metrics = compare_tables(text)
    assert "baseline · table4" in text and "dsla_fs · table4" in text
    assert params["FS"] == ["no", "yes"] and params["DSLA"] == ["no", "yes"], params
    for knob in ("K", "t_max", "t_min", "S", "lambda_o2o", "lambda_sla"):
        assert knob in params, f"{knob} is not on the compare page"
    assert params["K"] == ["–", "6"] and params["t_min"] == ["–", "0.4"]
    assert metrics["AP"] == ["0.1", "0.15"] and metrics["AP_vs_baseline"] == ["0", "0.05"], metrics
    assert metrics["AP_paper"] == ["0.901", "0.917"] and metrics["AP_paper_vs_baseline"] == ["0", "0.016"]


def compare_tables(text: str) -> tuple[dict, dict]:
    """The compare page's parameters (`name<TAB>value<TAB>value` lines) and metrics (names, then
    their values run by run) as `{name: [value per run]}`."""
    lines = [line.strip() for line in text.splitlines()]
    start, end = lines.index("Parameters"), lines.index("Metrics")
    params = {cells[0]: cells[1:] for cells in (line.split("\t") for line in lines[start:end]) if len(cells) > 1}
    names, values = [], []
    for line in lines[end + 2:lines.index("Artifacts")]:
        (values if values or _is_number(line) else names).append(line)
    runs = len(values) // max(len(names), 1)
    return params, {name: values[i * runs:(i + 1) * runs] for i, name in enumerate(names)}


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_two_training_curves_share_one_chart(ui):
    trains = [ui["trains"]["baseline"], ui["trains"]["dsla_fs"]]
    text = ui["browser"].page(shots.metric_url(ui["server"].url, "val/AP", trains, [ui["experiment"]]),
                              wait_for=("dsla_fs · train crowdhuman s0",), screenshot=ui["out"] / "metric.png")
    assert "baseline · train crowdhuman s0" in text and "Error" not in text


def test_the_row_run_describes_itself_with_a_link_to_its_training(ui):
    url = f"{ui['server'].url}/#/experiments/{ui['experiment']}/runs/{ui['rows'][-1]}?workflowType=machine_learning"
    text = ui["browser"].page(url, wait_for=("vs baseline",))
    assert "Table 4, row dsla_fs" in text and "AP 15.00 % (paper 91.70), +5.00 vs baseline (paper +1.60)" in text
    assert "training run" in text and "validation AP per epoch" in text


# --- the report's links: one click from index.md to a filled comparison -------------------------
def test_the_reports_table_link_opens_its_rows_compared(ui):
    url = Links(ui["server"].url, "smoke").table("t" * 16, {"rows": ui["aggregated"]})
    assert url and url.startswith(ui["server"].url + "/#/compare-runs?")
    text = ui["browser"].page(url, wait_for=("AP_vs_baseline",), screenshot=ui["out"] / "report-table4.png",
                              size=(1500, 2400))
    params, metrics = compare_tables(text)
    for row in ("baseline", "fs", "dsla", "dsla_fs"):
        assert f"{row} · table4" in text, f"row {row} is not pre-selected"
    assert params["FS"] == ["no", "yes", "no", "yes"] and params["DSLA"] == ["no", "no", "yes", "yes"], params
    assert metrics["AP"] == ["0.1", "0.12", "0.13", "0.15"], metrics


def test_the_reports_figure4_link_overlays_baseline_and_dsla_fs(ui):
    url = Links(ui["server"].url, "smoke").figure("f" * 16)
    assert url and url.startswith(ui["server"].url + "/#/metric?") and "experiments=" in url
    text = ui["browser"].page(url, wait_for=("dsla_fs · train crowdhuman s0", "baseline · train crowdhuman s0"),
                              screenshot=ui["out"] / "report-figure4.png")
    assert "val/AP" in text and "Error" not in text and "not valid JSON" not in text


def test_the_curve_link_in_a_row_description_opens_baseline_vs_the_row(ui):
    import re

    note = ui["tracker"].client.get_run(ui["rows"][-1]).data.tags["mlflow.note.content"]
    link = re.search(r"\[validation AP per epoch\]\((#/metric\?[^)]*)\)", note).group(1)
    assert f'experiments=%5B%22{ui["experiment"]}%22%5D' in link, link
    text = ui["browser"].page(f"{ui['server'].url}/{link}",
                              wait_for=("dsla_fs · train crowdhuman s0", "baseline · train crowdhuman s0"))
    assert "not valid JSON" not in text and "Error while loading" not in text
