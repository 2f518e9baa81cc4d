"""One click from the report to MLflow: links beside each table (its rows compared) and Figure 4
(baseline vs DSLA + FS, val/AP per epoch overlaid).

The links point at MLflow's UI: the tracking server itself when the store is `http(s)://` (without
any password), else `mlflow ui`'s default address, http://127.0.0.1:5000, with the command that
serves it. The row runs of a table are its parent run's children, found in the store when the report
is written; a store that cannot be read gives a report without links (and says so), never an error.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..tracking import records

DEFAULT_UI = "http://127.0.0.1:5000"


def ui_base(uri: str) -> str:
    """The UI address for the tracking URI `uri`: the server itself (credentials removed), else
    `mlflow ui`'s default."""
    if re.match(r"https?://", uri or ""):
        return re.sub(r"://[^/@]*@", "://", uri).rstrip("/")
    return DEFAULT_UI


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

    def table(self, result: dict | None) -> str | None:
        """`<ui>/#/compare-runs?...` with the table's row runs pre-selected, in the table's order."""
        run_id = (result or {}).get("run_id")
        if not run_id or self.client is None:
            return None
        try:
            experiment = self.client.get_run(run_id).info.experiment_id
            children = self.client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{run_id}'",
                                               max_results=500)
        except Exception as exc:
            self.problem = type(exc).__name__
            return None
        order = {row: i for i, row in enumerate(result.get("rows", {}))}
        children = sorted(children, key=lambda r: order.get(r.data.tags.get("dsla.row"), len(order)))
        if not children:
            return None
        return f"{self.base}/{records.compare_url([r.info.run_id for r in children], [experiment])}"

    def figure(self, figure: dict | None, dataset: str = "crowdhuman", seed: str = "0") -> str | None:
        """`<ui>/#/metric?...`: val/AP per epoch of the baseline and DSLA + FS trainings, overlaid."""
        trains = (figure or {}).get("train_run_ids") or {}
        runs = [trains.get(f"{dataset}/{variant}@seed{seed}") for variant in ("baseline", "dsla_fs")]
        if not all(runs) or self.client is None:
            return None
        try:
            experiment = self.client.get_run(runs[0]).info.experiment_id
        except Exception as exc:
            self.problem = type(exc).__name__
            return None
        return f"{self.base}/{records.metric_url(runs, 'val/AP', [experiment])}"
