"""Real sweeps on the smoke profile: `pipeline sweep k` trains the grid, a second run trains nothing,
`pipeline run table6` reads the same results, a pruned trial stops its training after one epoch,
and a real `mlflow server` over the store shows the runs, curves and artifacts through its REST API."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from experiments.tables import curve_run
from pipeline import cli
from pipeline.engine.store import ResultStore
from pipeline.graph import Pipeline
from pipeline.runtime.launch import free_port
from pipeline.sweeps.objective import TrainObjective
from pipeline.sweeps.runner import PARENT_RUN, SweepSetup, run_sweep
from pipeline.sweeps.spaces import make_sweep
from pipeline.tracking import Tracker

pytestmark = pytest.mark.slow

STUDY = "k-smoke"  # the CLI's default name for `sweep k --profile smoke` (the smoke profile's own grid)


def stage_runs(client, experiment_id, stage):
    return client.search_runs([experiment_id], f"tags.`dsla.stage` = '{stage}'", max_results=1000)


@pytest.fixture(scope="module")
def swept(tmp_path_factory, empty_mlflow_db):
    """In a fresh working directory: the K sweep twice, Table 6, then a search whose only trial is
    pruned after its first epoch."""
    work = tmp_path_factory.mktemp("sweep-smoke")
    shutil.copy(empty_mlflow_db, work / "mlflow.db")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    storage = f"sqlite:///{work / 'optuna.db'}"
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    argv = ["sweep", "k", "--profile", "smoke", "--tracking-uri", uri, "--no-progress"]
    try:
        client = MlflowClient(uri)
        first = cli.main(argv)
        experiment = client.get_experiment_by_name("dsla/smoke/crowdhuman").experiment_id
        trained_first = len(stage_runs(client, experiment, "train"))
        second = cli.main(argv)
        trained_second = len(stage_runs(client, experiment, "train"))
        table6 = cli.main(["run", "table6", "--profile", "smoke", "--tracking-uri", uri, "--no-progress"])
        trained_table = len(stage_runs(client, experiment, "train"))

        pruned = SweepSetup(kind="search", profile="smoke", storage=storage, study_name="pruned", tracking_uri=uri,
                            trials=1, pruner={"type": "ThresholdPruner", "lower": 2.0})  # AP < 2: pruned at once
        objective = TrainObjective(storage=storage, study_name="pruned", pruner=pruned.pruner,
                                   tracker=Tracker(uri, "smoke"), settings={"progress": False})
        run_sweep(pruned, objective)
        yield {"dir": work, "uri": uri, "storage": storage, "client": client, "experiment": experiment,
               "codes": (first, second, table6), "trained": (trained_first, trained_second, trained_table)}
    finally:
        mp.undo()


def test_the_grid_is_trained_once_and_reused_by_a_second_sweep_and_by_table6(swept):
    assert swept["codes"] == (0, 0, 0)
    assert swept["trained"] == (2, 2, 2), "the second sweep or Table 6 trained again"
    study = optuna.load_study(study_name=STUDY, storage=swept["storage"])
    trials = study.get_trials()
    assert sorted(t.params["K"] for t in trials) == [4, 6] and {t.state for t in trials} == {TrialState.COMPLETE}
    assert [t.user_attrs["epochs_trained"] for t in trials] == [2, 2]

    table6 = pd.read_csv(swept["dir"] / "reports" / "out" / "smoke" / "table6.csv", dtype={"id": str}).set_index("id")
    ours = pd.read_csv(swept["dir"] / "reports" / "out" / "smoke" / "sweeps" / STUDY / "table" / f"{STUDY}.csv",
                       dtype={"id": str}).set_index("id")
    for trial in trials:
        row = f"K={trial.params['K']}"
        assert ours.at[row, "AP (ours)"] == pytest.approx(100 * trial.value)
        assert table6.at[row, "AP (ours)"] == pytest.approx(100 * trial.value)
        assert ours.at[row, "AP (paper)"] == table6.at[row, "AP (paper)"]


def test_the_sweep_is_a_parent_run_with_one_child_per_trial(swept):
    client = swept["client"]
    study = optuna.load_study(study_name=STUDY, storage=swept["storage"])
    parent = client.get_run(study.user_attrs[PARENT_RUN])
    assert parent.info.status == "FINISHED" and parent.data.tags["dsla.stage"] == "sweep"
    best = max(study.get_trials(), key=lambda t: t.value)
    assert parent.data.tags["best.K"] == str(best.params["K"])
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {"plots", "table", "trials.csv", "best_params.json"}
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert plots >= {"plots/optimization_history.png", "plots/param_importances.png"}
    assert "plots/intermediate_values.png" not in plots, "a grid study is not pruned: that plot would be empty"
    assert study.metric_names == ["AP"]
    children = client.search_runs([swept["experiment"]], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(int(r.data.params["trial"]) for r in children) == [0, 1]
    for child in children:
        assert child.info.status == "FINISHED" and child.data.tags["optuna.state"] == "COMPLETE"
        # a grid point validates as its Table 6 row does: every epoch if it is one of Figure 4's runs, else at its end
        validated = 2 if curve_run(make_sweep("k", "smoke").run({"K": int(child.data.params["K"])})) else 1
        assert len(client.get_metric_history(child.info.run_id, "val/AP")) == validated
        train = client.get_run(child.data.tags["dsla.train_run_id"])
        assert train.data.tags["dsla.stage"] == "train" and train.data.params["K"] == child.data.params["K"]


def test_a_pruned_trial_stops_training_after_the_epoch_it_is_pruned_at(swept):
    [trial] = optuna.load_study(study_name="pruned", storage=swept["storage"]).get_trials()
    assert trial.state == TrialState.PRUNED and trial.user_attrs["pruned_at_epoch"] == 1
    assert list(trial.intermediate_values) == [1] and trial.user_attrs["epochs_trained"] == 1
    node = Pipeline("smoke", curves="all").train(make_sweep("search", "smoke").run(trial.params))  # as trials train
    record = ResultStore(swept["dir"] / ".pipeline").load(node.key)
    assert record.status == "stopped" and record.error.startswith("pruned after epoch 1")  # not a failure
    train_run = swept["client"].get_run(record.data["run_id"])
    assert train_run.info.status == "FINISHED" and train_run.data.tags["dsla.stopped"].startswith("pruned after epoch 1")
    epochs = (swept["dir"] / "work_dirs" / node.key / "epochs.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in epochs] == [1], "training went on after the prune"
    child = swept["client"].get_run(trial.user_attrs["mlflow_run_id"])
    assert child.info.status == "FINISHED", "a pruned trial is the sweep working, not a failure"
    assert child.data.tags["optuna.state"] == "PRUNED" and child.data.tags["optuna.pruned"] == "true"
    assert child.data.tags["optuna.pruned_at_epoch"] == "1"


def _get(base: str, route: str, **query) -> bytes:
    with urllib.request.urlopen(f"{base}{route}?{urllib.parse.urlencode(query)}", timeout=30) as response:
        return response.read()


def _post(base: str, route: str, body: dict) -> dict:
    request = urllib.request.Request(f"{base}{route}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_real_mlflow_server_shows_runs_curves_and_artifacts(swept):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    mlflow = Path(sys.executable).parent / "mlflow"
    server = subprocess.Popen([str(mlflow), "server", "--backend-store-uri", swept["uri"], "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "1"], cwd=swept["dir"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=open(swept["dir"] / "mlflow-server.log", "w"))
    try:
        deadline = time.time() + 120
        while True:
            try:
                if _get(base, "/health") == b"OK":
                    break
            except OSError:
                pass
            assert server.poll() is None, (swept["dir"] / "mlflow-server.log").read_text()[-2000:]
            assert time.time() < deadline, "mlflow server did not answer /health within 120 s"
            time.sleep(1)

        experiment = json.loads(_get(base, "/api/2.0/mlflow/experiments/get-by-name",
                                     experiment_name="dsla/smoke/crowdhuman"))["experiment"]["experiment_id"]
        parents = _post(base, "/api/2.0/mlflow/runs/search", {
            "experiment_ids": [experiment], "filter": f"tags.`optuna.study` = '{STUDY}' and tags.`dsla.stage` = 'sweep'"})["runs"]
        assert len(parents) == 1
        parent = parents[0]["info"]["run_id"]
        children = _post(base, "/api/2.0/mlflow/runs/search", {
            "experiment_ids": [experiment], "filter": f"tags.mlflow.parentRunId = '{parent}'"})["runs"]
        assert len(children) == 2 and {c["info"]["status"] for c in children} == {"FINISHED"}
        for child in children:  # a grid point validates as its Table 6 row: every epoch for Figure 4's runs
            history = json.loads(_get(base, "/api/2.0/mlflow/metrics/get-history",
                                      run_id=child["info"]["run_id"], metric_key="val/AP"))["metrics"]
            k = int({p["key"]: p["value"] for p in child["data"]["params"]}["K"])
            assert sorted(m["step"] for m in history) == ([1, 2] if curve_run(make_sweep("k", "smoke").run({"K": k})) else [2])
        listed = json.loads(_get(base, "/api/2.0/mlflow/artifacts/list", run_id=parent, path="plots"))["files"]
        assert "plots/optimization_history.png" in {f["path"] for f in listed}
        png = _get(base, "/get-artifact", path="plots/optimization_history.png", run_uuid=parent)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)
