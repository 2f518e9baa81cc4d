"""A sweep in MLflow: one parent run per study, one child run per trial.

- Parent (`sweep:<study>`, tag `dsla.stage=sweep`): the study's name, storage and space; after
  each worker's last trial, the best trial's params (tags `best.<knob>`, `best_params.json`), the
  best AP so far (metric `best_AP`, one step per finished trial), Optuna's plots (`plots/`), the
  result table (`table/`) and every trial (`trials.csv`).
- Child (`<study>/trial-<n>`, tag `dsla.stage=sweep-trial`): param `trial` (the number) and the
  knobs; tag `optuna.state` (COMPLETE, PRUNED, FAIL); MLflow status FINISHED for a complete or a
  pruned trial (pruning is the sweep working, not a failure: a pruned one also has the tag
  `optuna.pruned=true` and `optuna.pruned_at_epoch`), KILLED for an interrupted one, FAILED for a
  failed one with the error in `dsla.error`;
  metrics AP, MR2, JI, Recall, `val/AP` per epoch, `epochs_trained`; tags
  `dsla.train_run_id` / `dsla.evaluate_run_id` pointing at the pipeline's stage runs.
Both live in the experiment of the trials' stage runs (`dsla/<profile>/<dataset>`), so the UI
compares them side by side.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from . import summary

STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}


class SweepRuns:
    """Creates and completes the MLflow runs of one study (picklable: holds settings only)."""

    def __init__(self, tracker, sweep, study_name: str, storage: str):
        self.tracker, self.sweep, self.study_name, self.storage = tracker, sweep, study_name, storage

    @property
    def client(self):
        return self.tracker.client

    def create_parent(self) -> str:
        return self.tracker.start_run(
            f"sweep:{self.study_name}", self.sweep.template.dataset,
            tags={"dsla.stage": "sweep", "optuna.study": self.study_name, "optuna.storage": self.storage,
                  "dsla.sweep": self.sweep.kind},
            params={"sweep": self.sweep.kind, "grid": self.sweep.grid_profile, "table": self.sweep.table.name,
                    "space": json.dumps(self.sweep.describe()["space"])})

    def reopen_parent(self, run_id: str) -> None:
        self.client.update_run(run_id, status="RUNNING")

    def trial_started(self, parent_id: str, number: int, params: dict, retry_of: int | None = None) -> str:
        """The RUNNING child run of trial `number` (`retry_of`: the trial it re-runs, if any)."""
        row = self.sweep.row_id(params) if self.sweep.is_grid else None
        tags = {"dsla.stage": "sweep-trial", "optuna.study": self.study_name,
                "optuna.trial_number": str(number), "optuna.state": "RUNNING"}
        if retry_of is not None:
            tags["optuna.retry_of"] = str(retry_of)
        if row:
            tags["dsla.row"] = row
        return self.tracker.start_run(f"{self.study_name}/trial-{number}", self.sweep.template.dataset,
                                      tags=tags, params={"trial": number, **params}, parent_run_id=parent_id)

    def trial_finished(self, run_id: str, frozen, curve: list[float] | None = None,
                       steps: list[int] | None = None) -> None:
        """Record the trial's outcome (`frozen`: its FrozenTrial after `tell`); `curve` is logged at the
        epochs `steps` it was validated at (default 1, 2, ...)."""
        attrs, state = frozen.user_attrs, frozen.state.name
        metrics = dict(attrs.get(summary.METRICS) or {})
        metrics[summary.EPOCHS] = attrs.get(summary.EPOCHS, 0)
        self.tracker.log_metrics(run_id, metrics)
        values = curve if curve is not None else [frozen.intermediate_values[s] for s in sorted(frozen.intermediate_values)]
        if steps is None:
            steps = range(1, len(values) + 1) if curve is not None else sorted(frozen.intermediate_values)
        for step, value in zip(steps, values):
            self.tracker.log_metrics(run_id, {"val/AP": value}, step=step)
        tags = {"optuna.state": state}
        if state == "PRUNED":
            tags["optuna.pruned"] = "true"
        for key, tag in ((summary.TRAIN_RUN, "dsla.train_run_id"), (summary.EVALUATE_RUN, "dsla.evaluate_run_id"),
                         (summary.PRUNED_AT, "optuna.pruned_at_epoch"), (summary.ERROR, "dsla.error")):
            if attrs.get(key) is not None:
                tags[tag] = str(attrs[key])[:5000]
        for key, value in tags.items():
            self.client.set_tag(run_id, key, value)
        self.client.set_terminated(run_id, STATUS[state])

    def trial_abandoned(self, frozen, reason: str) -> None:
        """A trial whose worker died or was interrupted (it is queued again as a new trial)."""
        run_id = frozen.user_attrs.get(summary.MLFLOW_RUN)
        if run_id:
            self.client.set_tag(run_id, "optuna.state", frozen.state.name)
            self.client.set_tag(run_id, "dsla.error", reason)
            self.client.set_terminated(run_id, "KILLED")

    def summarize(self, parent_id: str, study, out_dir: Path | None = None) -> dict:
        """Best params, plots, result table and trials table into the parent run (and `out_dir`)."""
        out = Path(out_dir or tempfile.mkdtemp(prefix="sweep-summary-"))
        table = summary.result_table(study, self.sweep, out / "table", self.study_name)
        plots, notes = summary.plots(study, out / "plots", pruned=not self.sweep.is_grid)
        trials = out / "trials.csv"
        summary.trials_frame(study).to_csv(trials, index=False)
        top = summary.best(study)
        finished = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
        if top is not None:
            for knob, value in top["params"].items():
                self.client.set_tag(parent_id, f"best.{knob}", str(value))
            self.client.set_tag(parent_id, "best.trial", str(top["trial"]))
            self.tracker.log_metrics(parent_id, {"best_AP": top["value"]}, step=finished)
            self.client.log_dict(parent_id, top, "best_params.json")
        self.tracker.log_metrics(parent_id, {"epochs_trained": summary.epochs_spent(study)}, step=finished)
        if notes:
            self.client.set_tag(parent_id, "dsla.plot_notes", "; ".join(notes)[:5000])
        self.tracker.log_artifacts(parent_id, table, "table")
        self.tracker.log_artifacts(parent_id, plots, "plots")
        self.tracker.log_artifacts(parent_id, [trials])
        return {"best": top, "table": table, "plots": plots, "notes": notes, "trials": trials, "dir": out}

    def close_parent(self, parent_id: str, finished: bool) -> None:
        """FINISHED once the study has no work left; otherwise it stays RUNNING for other workers."""
        if finished:
            self.client.set_terminated(parent_id, "FINISHED")
