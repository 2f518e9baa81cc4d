"""One click from the report to MLflow: links beside each table (its rows compared) and Figure 4
(baseline vs DSLA + FS, val/AP per epoch overlaid).

The links point at MLflow's UI: the tracking server itself when the store is `http(s)://` (without
any password), else `mlflow ui`'s default address, http://127.0.0.1:5000, with the command that
serves it. The row runs of a table are its parent run's children, found in the store when the report
is written; a store that cannot be read gives a report without links (and says so), never an error.

A result does not name its run: the run of a stage execution is found by its key (the tracker tags
every run `dsla.key`), so a result reused from a cache made with another store links to nothing
rather than to a run that is not there. Here too are the URL builders of MLflow's UI pages the
tracker's run descriptions use.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

DEFAULT_UI = "http://127.0.0.1:5000"


def run_link(run_id: str, label: str) -> str:
    """A Markdown link MLflow's UI resolves relative to its own address (`#/runs/<id>` opens the
    run in its experiment), in the model-training view."""
    return f"[{label}](#/runs/{run_id}?workflowType=machine_learning)"


# Stands for the experiment id in a run description written before the run exists (a table
# row's): `Tracker.child_run` puts the id of the experiment it logs into in its place.
EXPERIMENT = "__dsla_experiment__"  # URL-safe: it stays as it is inside an encoded link


def _json_list(values) -> str:
    return urllib.parse.quote(json.dumps([str(v) for v in values], separators=(",", ":")))


def metric_url(run_ids: list[str], metric: str, experiment_ids: list[str] = (EXPERIMENT,)) -> str:
    """MLflow's chart of `metric` per step (epoch) for `run_ids`, overlaid — relative to the UI's
    address. MLflow's metric page needs `experiments=` (without it: "undefined" is not valid JSON)."""
    return (f"#/metric?runs={_json_list(run_ids)}&metric={urllib.parse.quote(json.dumps(metric))}"
            f"&experiments={_json_list(experiment_ids)}&plot_metric_keys={_json_list([metric])}"
            f"&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=true&workflowType=machine_learning")


def compare_url(run_ids: list[str], experiment_ids: list[str] = (EXPERIMENT,)) -> str:
    """MLflow's comparison page of `run_ids` (params, metrics side by side), relative to the UI."""
    return (f"#/compare-runs?runs={_json_list(run_ids)}&experiments={_json_list(experiment_ids)}"
            "&workflowType=machine_learning")


def metric_link(run_ids: list[str], metric: str, label: str, experiment_ids: list[str] = (EXPERIMENT,)) -> str:
    """A Markdown link to MLflow's chart of `metric` per epoch for `run_ids`, overlaid."""
    return f"[{label}]({metric_url(run_ids, metric, experiment_ids)})"


def ui_base(uri: str) -> str:
    """The UI address for the tracking URI `uri`: the server itself (credentials removed), else
    `mlflow ui`'s default."""
    if re.match(r"https?://", uri or ""):
        return re.sub(r"://[^/@]*@", "://", uri).rstrip("/")
    return DEFAULT_UI


def runs_by_key(client, profile: str, keys) -> dict:
    """`{key: run}`: the newest FINISHED MLflow run of each stage execution key (tag `dsla.key`) in any
    experiment of `profile` (`dsla/<profile>/...`: Figure 4's trainings are in the datasets'
    experiments, its own run in the report's); a key without one (its result came from a cache made
    with another store) is left out. The tracker and the report's links both find runs this way."""
    experiments = [e.experiment_id for e in client.search_experiments(filter_string=f"name LIKE 'dsla/{profile}/%'")]
    found = {}
    for key in dict.fromkeys(keys) if experiments else ():
        runs = client.search_runs(experiments, f"tags.`dsla.key` = '{key}' and attributes.status = 'FINISHED'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
        if runs:
            found[key] = runs[0]
    return found


class Links:
    """Looks up run ids in the MLflow store at `uri`; every method returns None when it cannot."""

    def __init__(self, uri: str, profile: str):
        self.uri, self.profile, self.base = uri, profile, ui_base(uri)
        self._client, self.problem = None, None

    @property
    def client(self):
        if self._client is None and self.problem is None:
            local = re.match(r"sqlite:///(.+)", self.uri or "")
            if local and not Path(local.group(1)).is_file():  # never create a store to look in it
                self.problem = "no store"
                return None
            try:
                from mlflow.tracking import MlflowClient
                self._client = MlflowClient(self.uri)
            except Exception as exc:  # any store problem: no links
                self.problem = f"{type(exc).__name__}"
        return self._client

    def run_of(self, key: str | None):
        """The newest finished MLflow run of the stage execution with this key, or None."""
        if not key or self.client is None:
            return None
        try:
            return runs_by_key(self.client, self.profile, [key]).get(key)
        except Exception as exc:
            self.problem = type(exc).__name__
            return None

    def table(self, key: str | None, result: dict | None) -> str | None:
        """`<ui>/#/compare-runs?...` with the row runs of the table recorded under `key` pre-selected,
        in the table's order."""
        parent = self.run_of(key)
        if parent is None:
            return None
        run_id, experiment = parent.info.run_id, parent.info.experiment_id
        try:
            children = self.client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{run_id}'",
                                               max_results=500)
        except Exception as exc:
            self.problem = type(exc).__name__
            return None
        order = {row: i for i, row in enumerate((result or {}).get("rows", {}))}
        children = sorted(children, key=lambda r: order.get(r.data.tags.get("dsla.row"), len(order)))
        if not children:
            return None
        return f"{self.base}/{compare_url([r.info.run_id for r in children], [experiment])}"

    def figure(self, key: str | None, dataset: str = "crowdhuman", seed: str = "0") -> str | None:
        """`<ui>/#/metric?...`: val/AP per epoch of the baseline and DSLA + FS trainings behind the
        figure recorded under `key` (its run's `dsla.train_run_ids` tag), overlaid."""
        run = self.run_of(key)
        if run is None:
            return None
        try:
            trains = json.loads(run.data.tags.get("dsla.train_run_ids", "{}"))
        except ValueError:
            return None
        runs = [trains.get(f"{dataset}/{variant}@seed{seed}") for variant in ("baseline", "dsla_fs")]
        if not all(runs):
            return None
        try:
            experiment = self.client.get_run(runs[0]).info.experiment_id
        except Exception as exc:
            self.problem = type(exc).__name__
            return None
        return f"{self.base}/{metric_url(runs, 'val/AP', [experiment])}"
