"""What the MLflow runs say, apart from how they are created: names, row params and metrics,
descriptions, dataset inputs, experiment descriptions.

- Run names lead with what differs, so MLflow's run list (which cuts long names) still tells runs
  apart: `dsla_fs K=6 T=0.6→0.4 · train crowdhuman s0`, `K=8 · table6`, `dsla_fs · table4`.
- A table row run carries every knob as a param — `FS`, `DSLA` (yes/no, as Table 4's columns), `K`,
  `t_max`, `t_min`, `S`, `lambda_o2o`, `lambda_sla` (`–` where the variant has no such branch) —
  and, for every metric of its table: ours (`AP`), the paper's (`AP_paper`), ours minus our
  baseline row's (`AP_vs_baseline`) and the paper's difference (`AP_paper_vs_baseline`), so the
  comparison view shows the flags and the differences on one page.
- Units: one per name everywhere. `AP`, `MR2`, `JI`, `Recall`, `AP50`, `AP75` are fractions in
  every MLflow run and Optuna study (the paper's percent numbers are divided by 100); the report
  tables print percent in columns `AP (ours)` / `AP (paper)` whose captions say so.
"""
from __future__ import annotations

import json
import urllib.parse
from typing import Any, Mapping

from experiments import knobs
from experiments import tables as defs

PERCENT = ("AP", "MR2", "JI", "Recall", "AP50", "AP75")  # fractions here, percent in the paper's tables
NOT_APPLICABLE = "–"
BASELINE_ROW = "baseline"
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")  # MLflow 3 opens others in GenAI mode


def _number(value) -> str:
    return f"{round(value, 6):g}" if isinstance(value, float) else str(value)


def knob_label(values: Mapping[str, Any]) -> str:
    """`K=6 T=0.6→0.4 S=16` for the knobs present (T^max → T^min as eq. 4 decays it)."""
    parts = []
    if "K" in values:
        parts.append(f"K={values['K']}")
    if "t_max" in values or "t_min" in values:
        parts.append(f"T={_number(values.get('t_max', '?'))}→{_number(values.get('t_min', '?'))}")
    parts += [f"{name}={_number(values[name])}" for name in ("S", "lambda_o2o", "lambda_sla") if name in values]
    return " ".join(parts)


def run_name(node) -> str:
    """An MLflow run name that leads with what differs between runs of the same stage."""
    params, stage = node.params, node.stage.name
    if stage == "evaluate" and "trained" in node.inputs:
        params = node.inputs["trained"].params
    if stage in ("train", "evaluate") and "variant" in params:
        options = " ".join(f"{k}={_number(v)}" for k, v in (params.get("cfg_options") or {}).items())
        what = " ".join(filter(None, [params["variant"], knob_label(params.get("overrides", {})), options]))
        return f"{what} · {stage} {params['dataset']} s{params.get('seed', 0)}"
    if stage == "complexity":
        return f"{params['variant']} {params['phase']} · complexity {params['dataset']}"
    if stage == "prepare":
        return f"{params['dataset']} · prepare"
    return node.name


def row_run_name(table: str, row_id: str) -> str:
    return f"{row_id} · {table}"


def row_params(row: Mapping[str, Any]) -> dict[str, str]:
    """Every knob of a row's run, `–` for a knob its variant does not have, and the FS/DSLA flags."""
    run = dict(row.get("run") or {})
    values = {**run, **(row.get("knobs") or {})}
    params: dict[str, str] = {}
    variant = run.get("variant")
    if variant in defs.VARIANTS:  # a trained row (density and complexity rows have no knobs)
        fs, sla = defs.VARIANTS[variant]
        params.update(variant=variant, FS="yes" if fs else "no", DSLA="yes" if sla else "no")
        for name in knobs.NAMES:
            params[name] = _number(values[name]) if name in values else NOT_APPLICABLE
    for name in ("dataset", "profile"):
        if name in run:
            params[name] = str(run[name])
    for key, value in (row.get("cfg") or {}).items():  # a row of ours: its config overrides (docs/ablations.md)
        params[f"cfg.{key}"] = str(value)
    params["seeds"] = str(row.get("n", 1))
    return params


def row_metrics(table, row_id: str, rows: Mapping[str, Mapping], paper: Mapping[str, Mapping]) -> dict[str, float]:
    """Ours, the paper's and both differences to the baseline row, as fractions for PERCENT metrics.

    `rows`: the table's aggregated rows (percent, as the report prints them); `paper`: the paper's
    numbers by row id (percent).
    """
    def unit(metric, value):
        return value / 100 if metric in PERCENT else value

    ours, theirs = rows[row_id], paper.get(row_id, {})
    base, base_paper = rows.get(BASELINE_ROW), paper.get(BASELINE_ROW, {})
    metrics: dict[str, float] = {}
    for metric in table.metrics:
        if _finite(ours.get(metric)):
            metrics[metric] = unit(metric, ours[metric])
            if _finite(ours.get(f"{metric}_std")) and ours.get("n", 1) > 1:
                metrics[f"{metric}_std"] = unit(metric, ours[f"{metric}_std"])
            if base is not None and _finite(base.get(metric)):
                metrics[f"{metric}_vs_baseline"] = unit(metric, ours[metric] - base[metric])
        if _finite(theirs.get(metric)):
            metrics[f"{metric}_paper"] = unit(metric, theirs[metric])
            if _finite(base_paper.get(metric)):
                metrics[f"{metric}_paper_vs_baseline"] = unit(metric, theirs[metric] - base_paper[metric])
    return metrics


def _finite(value) -> bool:
    try:
        return value is not None and float(value) == float(value) and abs(float(value)) != float("inf")
    except (TypeError, ValueError):
        return False


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


def row_description(table, row_id: str, params: Mapping[str, str], metrics: Mapping[str, float],
                    train_run_ids: list[str], evaluate_run_ids: list[str],
                    baseline_train_run_ids: list[str] = ()) -> str:
    """The row run's Markdown description (`mlflow.note.content`): what the row is, its numbers
    beside the paper's, and links to the training runs and their curves."""
    title = table.name.replace("table", "Table ")
    flags = ", ".join(f"{k} {params[k]}" for k in ("FS", "DSLA") if k in params)
    set_knobs = ", ".join(f"{k} = {v}" for k, v in params.items() if k in knobs.NAMES and v != NOT_APPLICABLE)
    lines = [f"**{title}, row `{row_id}`** — {table.title}.", "",
             f"{flags}" + (f"; {set_knobs}" if set_knobs else "") + f"; {params.get('seeds', '1')} seed(s).", ""]
    cells = []
    for metric in table.metrics:
        if metric not in metrics:
            continue
        scale, unit = (100, " %") if metric in PERCENT else (1, "")
        text = f"{metric} {scale * metrics[metric]:.2f}{unit}"
        if f"{metric}_paper" in metrics:
            text += f" (paper {scale * metrics[f'{metric}_paper']:.2f})"
        if f"{metric}_vs_baseline" in metrics:
            text += f", {scale * metrics[f'{metric}_vs_baseline']:+.2f} vs baseline"
            if f"{metric}_paper_vs_baseline" in metrics:
                text += f" (paper {scale * metrics[f'{metric}_paper_vs_baseline']:+.2f})"
        cells.append("- " + text)
    lines += cells + ["", "Metrics of this run are fractions (`AP` 0.5 = 50 %); `_paper`: the paper's number, "
                      "`_vs_baseline`: minus the baseline row's."]
    if train_run_ids:
        links = ", ".join(run_link(rid, f"training {i}" if len(train_run_ids) > 1 else "training run")
                          for i, rid in enumerate(train_run_ids))
        others = [rid for rid in baseline_train_run_ids if rid not in train_run_ids]
        versus = (" beside the baseline's" if others else "")
        lines += ["", f"Trained by: {links}; its curves{versus}: "
                  + metric_link([*others, *train_run_ids], "val/AP", "validation AP per epoch") + ", "
                  + metric_link([*others, *train_run_ids], "train/loss", "training loss") + "."]
    if evaluate_run_ids:
        lines.append("Evaluated by: " + ", ".join(run_link(rid, f"evaluation {i}")
                                                    for i, rid in enumerate(evaluate_run_ids)) + ".")
    return "\n".join(lines)


def experiment_description(profile: str, dataset: str | None) -> str:
    """The Markdown description of experiment `dsla/<profile>/<dataset>`."""
    what = {"crowdhuman": "CrowdHuman-style data (synthetic crowd preset in smoke/tiny)",
            "coco": "COCO-style data (synthetic sparse preset in smoke/tiny)"}.get(
        dataset or "", "what spans both datasets: Table 1, Figure 4, the report")
    return (f"DSLA reproduction, profile **{profile}**: {what}.\n\n"
            "One run per stage execution (prepare, train, evaluate, complexity, table, figure, report), named "
            "with what differs first. A table is its stage's run with one child run per row: every knob as a "
            "param (FS, DSLA, K, t_max, t_min, S, λ), ours / the paper's / the difference to the baseline as "
            "metrics. Metrics named AP, MR2, JI, Recall, AP50, AP75 are fractions. To compare a table's rows: "
            "open its parent run (named `table4 · <profile> · <seeds> · <commit> · <time>`, the newest first) and "
            "follow *Compare the rows* in its description, or the link beside the table in the report (one click).")


def dataset_input(dataset: str, profile: str, *, prepared: Mapping | None = None, data: Mapping | None = None) -> dict:
    """`Tracker.log_dataset` arguments for a run's data: the prepare stage's result (`prepared`,
    with its content fingerprint) or a config's own data (`data`, see `pipeline.graph.config_data`)."""
    from pathlib import Path

    if prepared:
        density = prepared.get("density") or {}
        stats = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in density.items() if isinstance(v, (int, float))}
        name = f"{dataset}/{profile}" + ("" if "synthetic" in prepared.get("description", "") else " (real)")
        return {"name": name, "digest": str(prepared.get("fingerprint", "")), "source": str(prepared["data_root"]),
                "profile": {"description": prepared.get("description", ""), **stats}}
    data = data or {}
    return {"name": f"{dataset}/{Path((data.get('roots') or ['data'])[0]).name}", "digest": str(data.get("digest", "")),
            "source": ", ".join(data.get("roots") or []), "profile": {"description": data.get("description", "")}}
