"""What a study amounts to, read from the study alone: its trials table, its result table, its plots.

- `trials_frame`: one row per trial (number, state, knobs, AP, epochs trained, pruned at, error);
- `result_table`: a grid sweep's table in the form of Table 6 / 7 (ours beside the paper's,
  through `pipeline.report.render`), or the trials table of a search;
- `plots`: Optuna's optimisation history, parameter importances and intermediate values
  (`optuna.visualization.matplotlib`, so no plotly is needed), as PNG files.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd

# Trial user attributes the runner records (the study is the sweep's own record of its results).
METRICS, DATA, EPOCHS, ERROR, PRUNED_AT = "metrics", "data", "epochs_trained", "error", "pruned_at_epoch"
TRAIN_RUN, EVALUATE_RUN, MLFLOW_RUN = "train_run_id", "evaluate_run_id", "mlflow_run_id"


def knobs(params: dict) -> dict:
    """A trial's knobs as the sweep used them: Optuna stores a stepped float as `low + n * step`
    (0.1 + 2 * 0.1 = 0.30000000000000004); the sweep trains with it rounded (spaces.Sweep.suggest),
    and every table, tag and printout shows that value."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in params.items()}


def trials_frame(study) -> pd.DataFrame:
    records = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        records.append({"trial": trial.number, "state": trial.state.name, **knobs(trial.params),
                        "AP": trial.value if trial.value is not None else math.nan,
                        "epochs_trained": attrs.get(EPOCHS, len(trial.intermediate_values)),
                        "pruned_at_epoch": attrs.get(PRUNED_AT), "error": attrs.get(ERROR, "")})
    return pd.DataFrame.from_records(records)


def epochs_spent(study) -> int:
    """Epochs trained by all of the study's trials (cached points cost none)."""
    frame = trials_frame(study)
    return int(frame["epochs_trained"].sum()) if len(frame) else 0


def best(study) -> dict | None:
    """`{"trial", "value", "params"}` of the best complete trial, or None."""
    from optuna.trial import TrialState
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not complete:
        return None
    top = max(complete, key=lambda t: t.value)
    return {"trial": top.number, "value": top.value, "params": knobs(top.params)}


def result_table(study, sweep, out_dir: Path, name: str) -> list[Path]:
    """The sweep's result as Markdown, CSV and LaTeX files in `out_dir`."""
    from optuna.trial import TrialState

    from ..report.render import markdown, table_frame, write_table
    from ..stages.table import aggregate_rows, caption, paper_grid_ids

    out_dir.mkdir(parents=True, exist_ok=True)
    if sweep.is_grid:
        inputs = {}
        for trial in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number):
            row = sweep.row_id(knobs(trial.params))
            if row is not None and trial.user_attrs.get(METRICS):
                inputs[row] = {"metrics": trial.user_attrs[METRICS], "run": knobs(trial.params), "knobs": {},
                               "data": trial.user_attrs.get(DATA, ""), "weights": ""}
        rows = aggregate_rows(sweep.table, inputs)
        text = caption(sweep.table, sweep.profile, 1, rows) + f"  \nOptuna study `{study.study_name}`."
        return write_table(table_frame(sweep.table, rows, paper_grid_ids(sweep.table.name)), out_dir, name, text)
    frame = trials_frame(study)
    md, csv = out_dir / f"{name}.md", out_dir / f"{name}.csv"
    shown = frame.astype(object).where(frame.notna(), "")
    if "AP" in shown:
        shown["AP"] = [f"{v:.4f}" if isinstance(v, float) else v for v in shown["AP"]]
    shown = shown.astype(str)
    md.write_text(f"**Search `{study.study_name}`** (profile `{sweep.profile}`): TPE over K, T^max, T^min "
                  f"(T^min <= T^max); AP as a fraction; {epochs_spent(study)} epochs trained in all.\n\n"
                  f"{markdown(shown)}\n")
    frame.to_csv(csv, index=False)
    return [md, csv]


def plots(study, out_dir: Path, pruned: bool = True) -> tuple[list[Path], list[str]]:
    """PNG plots of the study, and a note for each plot the study cannot have yet (e.g. too few
    complete trials for parameter importances). The intermediate values are the per-epoch AP a
    pruner saw: drawn for pruned studies only (a grid study reports none, so its plot is empty)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    out_dir.mkdir(parents=True, exist_ok=True)
    files, notes = [], []
    drawings = [("optimization_history", optuna_plots.plot_optimization_history),
                ("param_importances", optuna_plots.plot_param_importances)]
    if pruned:
        drawings.append(("intermediate_values", optuna_plots.plot_intermediate_values))
    for name, draw in drawings:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                axes = draw(study)
        except (ValueError, RuntimeError) as exc:  # e.g. importances need 2+ complete trials
            notes.append(f"{name}: not drawn ({exc})")
            continue
        notes += [f"{name}: {w.message}" for w in caught if not issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
        path = out_dir / f"{name}.png"
        axes.figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(axes.figure)
        files.append(path)
    return files, notes
