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
from typing import Any, Mapping

from experiments import knobs
from experiments import tables as defs

from ..report.links import EXPERIMENT, compare_url, metric_link, metric_url, run_link  # noqa: F401 (used here and by the tracker)

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


# --- what an execution's run carries, decided from the stage's typed result --------------------------
def row_runs(spec, rows: Mapping[str, Mapping], evaluate_ids: Mapping[str, list[str]],
             train_ids: Mapping[str, list[str]]):
    """One finished child run per table row: its params, its metrics beside the paper's, tags and a
    description naming the evaluate and train runs its numbers came from (by row id)."""
    from ..engine.results import ChildRun
    from ..report.render import paper_frame

    paper = paper_frame(spec.name).set_index("id").to_dict("index")
    baseline_trains = train_ids.get(BASELINE_ROW, [])
    children = []
    for row_id, row in rows.items():
        params, metrics = row_params(row), row_metrics(spec, row_id, rows, paper)
        evaluations, trainings = evaluate_ids.get(row_id, []), train_ids.get(row_id, [])
        children.append(ChildRun(
            row_run_name(spec.name, row_id),
            tags={"dsla.table": spec.name, "dsla.row": row_id, "dsla.stage": "table-row",
                  "dsla.evaluate_run_ids": ",".join(evaluations), "dsla.train_run_ids": ",".join(trainings),
                  "mlflow.note.content": row_description(spec, row_id, params, metrics, trainings, evaluations,
                                                         baseline_trains)},
            params=params, metrics=metrics))
    return children


def _row_of(input_name: str) -> str:
    return input_name.split("@seed", 1)[0]


def logged(node, result: Any, inputs: Mapping[str, Any], runs) -> dict[str, Any]:
    """What the run of `node`'s execution carries besides its params from the node (`Tracker.before_node`),
    decided from the stage's typed result (`pipeline/stages/contracts.py`) and the inputs it was given:
    `{"metrics", "params", "tags", "artifacts", "children", "description", "inputs", "models"}` (those
    that apply). `runs(keys)` gives the MLflow run ids of finished executions by key (upstream runs
    are found by key, never by an id kept in a result)."""
    from dataclasses import asdict
    from pathlib import Path

    from ..stages import contracts as c

    params, dataset, profile = node.params, node.params.get("dataset"), node.params.get("profile")
    if isinstance(result, c.Prepared):
        return {"metrics": {k: v for k, v in result.density.items() if isinstance(v, (int, float))}}
    if isinstance(result, c.Trained):
        prepared = inputs.get("prepared")
        overrides = params.get("overrides") or {}
        return {"params": {**result.knobs, "backbone_weights": result.weights},
                "artifacts": {"": [result.config],
                              "logs": [str(f) for f in sorted(Path(result.work_dir).glob("*/*.log"))]},
                "inputs": [{**dataset_input(dataset, profile, prepared=asdict(prepared) if prepared else None,
                                            data=params.get("data")), "context": "training"}],
                "models": [{"files": [result.checkpoint, result.config], "step": result.final["epoch"],
                            "name": f"{params.get('variant')}-{dataset}"
                                    + "".join(f"-{k}{v}" for k, v in sorted(overrides.items())),
                            "params": result.knobs}]}
    if isinstance(result, c.Evaluated):
        trained = node.inputs.get("trained")
        train_run = runs([trained.key]).get(trained.key) if trained is not None else None
        prepared = inputs.get("prepared")
        return {"metrics": result.metrics,
                "tags": {"dsla.train_run_id": str(train_run)} if train_run else {},
                "description": (f"Validation metrics (fractions) of the final checkpoint of "
                                f"{run_link(train_run, 'this training')}; detections: `{result.detections}`."
                                if train_run else ""),
                "inputs": [{**dataset_input(dataset, profile, prepared=asdict(prepared) if prepared else None),
                            "context": "eval"}] if prepared else []}
    if isinstance(result, c.Counted):
        return {"metrics": result.complexity}
    if isinstance(result, c.Tabled):
        spec = defs.tables(profile, {result.table: tuple(defs.from_declaration(d) for d in result.added_rows)})[result.table]
        evaluations = dict(sorted(node.inputs.items()))  # the executions each row's numbers come from
        trainings = {name: up.inputs["trained"] for name, up in evaluations.items() if "trained" in up.inputs}
        found = runs([up.key for up in evaluations.values()] + [up.key for up in trainings.values()])

        def by_row(ups):
            ids: dict[str, list[str]] = {}
            for name, up in ups.items():
                if found.get(up.key):
                    ids.setdefault(_row_of(name), []).append(found[up.key])
            return ids
        return {"artifacts": {"table": result.files},
                "children": row_runs(spec, result.rows, by_row(evaluations), by_row(trainings))}
    if isinstance(result, c.Figured):
        found = runs([up.key for up in node.inputs.values()])
        trains = {name: found[up.key] for name, up in sorted(node.inputs.items()) if found.get(up.key)}
        return {"metrics": {**{f"flatten_epoch/{k}": v for k, v in result.convergence.items() if v},
                            **{f"reaches_baseline_final_epoch/{k}": v
                               for k, v in result.reaches_baseline_final.items() if v}},
                "artifacts": {"figure": [result.png]},
                # the training runs behind each curve (the report links their val/AP overlaid)
                "tags": {"dsla.train_run_ids": json.dumps(trains, sort_keys=True)}}
    if isinstance(result, c.Pictured):
        return {"artifacts": {"qualitative": result.files}}
    if isinstance(result, c.Reported):
        return {"artifacts": {"report": result.files}, "tags": result.verdicts}
    return {}
