"""Stage `table`: one of the paper's tables from the results of its rows' stages.

Inputs are named `<row id>` (density, complexity rows) or `<row id>@seed<s>` (trained rows, one
per seed); the stage averages the seeds (mean, sample std) and writes the table beside the paper's
numbers (`pipeline.report.render`) into its work dir. What MLflow shows of it (the table's parent
run, one child run per row with its numbers, parameters and the runs it came from) the tracker
decides from the `Tabled` result and the node's inputs.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict
from pathlib import Path

from experiments import tables as defs

from .contracts import Counted, Evaluated, Prepared, Tabled

PERCENT = ("AP", "MR2", "JI", "Recall", "AP50", "AP75")  # fractions in our results, percent in tables


def row_values(source, result: dict) -> dict[str, float]:
    """The numbers one input contributes to its row, in the paper's units. The row's source says
    which stage produced `result` (its recorded fields): `Train` rows come from evaluate
    (`Evaluated`), `Density` from prepare (`Prepared`), `Complexity` from complexity (`Counted`)."""
    if isinstance(source, defs.Train):
        return {k: 100 * v if k in PERCENT else v for k, v in result["metrics"].items()}
    numbers = result["density"] if isinstance(source, defs.Density) else result["complexity"]
    return {k: v for k, v in numbers.items() if isinstance(v, (int, float))}


def row_facts(source, result: dict) -> dict:
    """What a row says about how its numbers were made: the run (variant, knobs, ...), the data
    and the backbone's start, from the fields its source's result type has."""
    if isinstance(source, defs.Train):
        return {"run": result["run"], "knobs": result["knobs"], "data": result["data"], "weights": result["weights"]}
    if isinstance(source, defs.Density):
        return {"run": {}, "knobs": {}, "data": result["description"], "weights": ""}
    return {"run": result["run"], "knobs": {}, "data": result["data"], "weights": ""}


def aggregate_rows(table, inputs: dict[str, dict]) -> dict[str, dict]:
    """`{row id: {metric: mean, "<metric>_std": std, "n": seeds, "per_seed": {seed: {metric: value}}, ...}}`
    for the rows that ran; `inputs` are the recorded fields of their results (the table stage's
    typed inputs as dicts, or a sweep's trials)."""
    rows = {}
    for row in table.rows:
        named = {name: r for name, r in inputs.items() if name == row.id or name.startswith(row.id + "@seed")}
        if not named:
            continue
        results = list(named.values())
        values = [row_values(row.source, r) for r in results]
        aggregated = {"n": len(values), **row_facts(row.source, results[0])}
        if isinstance(row.source, defs.Train) and row.source.cfg_options():
            aggregated["cfg"] = row.source.cfg_options()  # the row's config overrides (MLflow params, label column)
        # every seed's numbers, kept for paired differences (tables) and the claims (report)
        aggregated["per_seed"] = {name.split("@seed", 1)[1]: {m: v[m] for m in table.metrics if m in v}
                                  for name, v in zip(named, values) if "@seed" in name}
        # each seed's validation curve (trained rows): the claims' plateau precondition
        aggregated["curves"] = {name.split("@seed", 1)[1]: r["curve"] for name, r in named.items()
                                if "@seed" in name and r.get("curve")}  # (a sweep's trials have none)
        for metric in table.metrics:
            numbers = [v[metric] for v in values if metric in v]
            if numbers:
                aggregated[metric] = statistics.fmean(numbers)
                aggregated[f"{metric}_std"] = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
        rows[row.id] = aggregated
    return rows


def caption(table, profile: str, seeds: int, rows: dict[str, dict]) -> str:
    data = sorted({r["data"] for r in rows.values() if r.get("data")})
    weights = sorted({r["weights"] for r in rows.values() if r.get("weights")})
    counts = {r.get("n", 1) for r in rows.values() if r.get("per_seed")}
    spread = (f"mean ± std over {seeds} seeds" if seeds > 1 and counts <= {seeds} else
              f"mean ± std over the seeds in column `seeds`: {seeds} for the runs behind the paper's main claims "
              f"(Table 4, Figure 4), one for the other grid points"
              if seeds > 1 else "one seed")
    if "baseline" in rows and any(r.get("n", 1) > 1 for r in rows.values()):  # when render.table_frame adds Δ
        spread += "; Δ = difference to our baseline paired by seed (mean ± std)"
    lines = [f"**{table.name.replace('table', 'Table ')}: {table.title}.**",
             f"Ours: profile `{profile}`, {spread}" + (f"; data: {'; '.join(data)}" if data else "")
             + (f"; backbone start: {'; '.join(weights)}" if weights else "") + ".",
             "Paper: the numbers printed in the paper (reports/paper/)."
             + (f" {', '.join(m for m in table.metrics if m in PERCENT)} in %."
                if set(table.metrics) & set(PERCENT) else "")]
    if table.note:
        lines.append(table.note)
    return "  \n".join(lines)


def paper_grid_ids(table: str) -> set[str]:
    """Row ids the paper profile runs for `table` (the full grids; rows of ours are not grid rows)."""
    return {row.id for row in defs.tables("paper", {})[table].rows}


def table_spec(profile: str, table: str, added_rows: list[dict] | None = None):
    """The Table with exactly the rows of ours declared in `added_rows` (a table stage's parameter,
    kept in its result so the report renders the same table)."""
    added = {table: tuple(defs.from_declaration(d) for d in added_rows or ())}
    return defs.tables(profile, added)[table]


def make_table(ctx, *, profile: str, table: str, dataset: str, seeds: int = 1, added_rows: list | None = None,
               **inputs: Evaluated | Prepared | Counted) -> Tabled:
    from ..report.render import table_frame, write_table

    spec = table_spec(profile, table, added_rows)
    rows = aggregate_rows(spec, {name: asdict(result) for name, result in inputs.items()})
    text = caption(spec, profile, seeds, rows)
    files = write_table(table_frame(spec, rows, paper_grid_ids(table)), Path(ctx.work_dir), table, text)
    return Tabled(table=table, rows=rows, caption=text, added_rows=list(added_rows or []), files=[str(f) for f in files])
