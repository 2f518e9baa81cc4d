"""Tables as files: our numbers beside the paper's, as Markdown, CSV and LaTeX (pandas).

A table's frame has the paper's descriptive columns (method, K, ...), then for every metric a
`<metric> (paper)` and a `<metric> (ours)` column, and a `source` column that marks rows quoted
from the paper. The CSV keeps numbers (and `<metric> (ours) std` with several seeds); Markdown
and LaTeX show `mean ± std`. Paper rows come from `reports/paper/<table>.csv`.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from .. import REPO_ROOT

PAPER_DIR = REPO_ROOT / "reports" / "paper"
QUOTED = "quoted from the paper"
OURS = "ours"  # a row of ours (an ablation the paper does not have, docs/ablations.md)
OVERRIDES = "overrides"  # the label column of a row's config overrides, in tables with rows of ours
NOT_RUN = "not run"
NOT_IN_GRID = "paper only (not in this profile's grid)"


def paper_frame(name: str) -> pd.DataFrame:
    path = PAPER_DIR / f"{name}.csv"
    return pd.read_csv(path, dtype={"id": str}) if path.exists() else pd.DataFrame(columns=["id"])


def table_frame(table, rows: dict[str, dict], grid_ids: set[str] = frozenset()) -> pd.DataFrame:
    """The numeric frame of `table` (an experiments/tables.py Table) given our aggregated rows.

    `rows` maps a row id to `{metric: mean, "<metric>_std": std, "n": seeds, "per_seed": {seed:
    {metric: value}}}`; ids missing from it are rows of ours that have not run (yet). `grid_ids`:
    rows the `paper` profile would run, so that a smaller profile's table says a paper row is
    outside its grid, not a quote. With several seeds the frame has a `seeds (ours)` column and,
    when the table has our `baseline` row, every row's difference to it paired by seed
    (`Δ<metric> vs baseline (paired)`: mean ± std of the per-seed differences).
    """
    paper = paper_frame(table.name).set_index("id")
    ours_ids = [row.id for row in table.rows]
    added = {row.id: row for row in table.rows if getattr(row, "added", False)}
    labels = tuple(table.labels) + ((OVERRIDES,) if any(r.source.cfg for r in added.values()) else ())
    ids = list(paper.index) + [i for i in ours_ids if i not in paper.index]
    several = any(r.get("n", 1) > 1 for r in rows.values())
    reference = rows.get("baseline") if several else None
    records = []
    for row_id in ids:
        record = {"id": row_id}
        for label in labels:
            if row_id in added:
                record[label] = added_label(added[row_id], label)
                continue
            record[label] = paper.at[row_id, label] if row_id in paper.index and label in paper.columns else \
                _label_from_id(row_id, label) if label != OVERRIDES else ""
        ours = rows.get(row_id)
        for metric in table.metrics:
            in_paper = row_id in paper.index and metric in paper.columns
            record[f"{metric} (paper)"] = paper.at[row_id, metric] if in_paper else math.nan
            record[f"{metric} (ours)"] = ours.get(metric, math.nan) if ours else math.nan
            if ours and ours.get("n", 1) > 1:
                record[f"{metric} (ours) std"] = ours.get(f"{metric}_std", math.nan)
        if several:
            record["seeds (ours)"] = ours.get("n", math.nan) if ours else math.nan
        if reference is not None:
            for metric in table.metrics:
                mean, std = paired_difference(ours, reference, metric)
                record[f"Δ{metric} vs baseline (paired)"] = mean
                record[f"Δ{metric} vs baseline (paired) std"] = std
        record["source"] = ((OURS if ours else f"{OURS}: {NOT_RUN}") if row_id in added else
                            ("paper + ours" if ours else NOT_RUN) if row_id in ours_ids
                            else NOT_IN_GRID if row_id in grid_ids else QUOTED)
        records.append(record)
    return pd.DataFrame.from_records(records)


def paired_difference(row: dict | None, reference: dict, metric: str) -> tuple[float, float]:
    """Mean and sample std of `row − reference` over the seeds both have (NaN without 2 common seeds
    for the std, without any for the mean; the reference row itself gives NaN)."""
    if not row or row is reference:
        return math.nan, math.nan
    a, b = row.get("per_seed", {}), reference.get("per_seed", {})
    differences = [a[s][metric] - b[s][metric] for s in a if s in b and metric in a[s] and metric in b[s]]
    if not differences:
        return math.nan, math.nan
    mean = sum(differences) / len(differences)
    if len(differences) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((d - mean) ** 2 for d in differences) / (len(differences) - 1))


def added_label(row, label: str) -> str:
    """A label column of a row of ours: its name, its variant's FS / DSLA flags, a knob it sets, or
    (`overrides`) its config overrides as `key=value`."""
    from experiments.tables import branches

    run = row.source
    if label == OVERRIDES:
        return ", ".join(f"{k}={v}" for k, v in run.cfg_options().items())
    if label in ("method", "model"):
        return row.name()
    if label in ("FS", "DSLA"):
        return "yes" if branches(run.variant)["fs" if label == "FS" else "sla"] else "no"
    value = run.overrides().get(label)
    return "" if value is None else str(value)


def _label_from_id(row_id: str, label: str) -> str:
    """A descriptive column for a row the paper does not have (`K=4` -> K: 4)."""
    for part in row_id.split("/"):
        name, _, value = part.partition("=")
        if name == label and value:
            return value
    return row_id if label in ("method", "model", "dataset") else ""


# Decimals shown per quantity (every cell of a column alike, the paper's numbers too): metrics in
# percent to 0.01 points, densities and model sizes to 0.01, COCO's overlaps (0.0015 per image in
# the paper) to 1e-4, epochs whole. A column is looked up by its quantity: "AP (ours)" -> "AP".
DECIMALS = {"AP": 2, "AP50": 2, "AP75": 2, "MR2": 2, "JI": 2, "Recall": 2,
            "objects_per_image": 2, "overlaps_per_image": 4, "params_M": 2, "GFLOPs": 2,
            "convergence epoch": 0, "epochs": 0, "seeds": 0}
DEFAULT_DECIMALS = 3


SETTINGS = ("K", "t_min", "t_max", "S", "lambda_o2o", "lambda_sla", "T^min", "T^max")  # a row's knob: as in its id


def decimals(column: str) -> int | None:
    """"AP (ours)" and "ΔAP vs baseline (paired)" are shown like "AP"; a knob column (`t_min`)
    None: its values as the row ids write them (0.4, not 0.400)."""
    if column in SETTINGS:
        return None
    return DECIMALS.get(column.split(" (")[0].lstrip("Δ").split(" vs ")[0], DEFAULT_DECIMALS)


def _cell(value, std=None, places: int = DEFAULT_DECIMALS, signed: bool = False) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if isinstance(value, float) and places is None:
        return f"{value:g}"
    if isinstance(value, float):
        text = f"{value:+.{places}f}" if signed else f"{value:.{places}f}"
        if std is not None and not math.isnan(std):
            text += f" ± {std:.{places}f}"
        return text
    return str(value)


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings for Markdown / LaTeX: fixed decimals per column (`DECIMALS`), `mean ± std` cells,
    '–' where there is no number."""
    shown = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column == "id" or column.endswith(" std"):
            continue
        stds = frame.get(f"{column} std")
        places = decimals(column)
        shown[column] = [_cell(v, None if stds is None else stds[i], places, column.startswith("Δ"))
                         for i, v in frame[column].items()]
    return shown


def write_table(frame: pd.DataFrame, out_dir: Path, name: str, caption: str) -> list[Path]:
    """`<name>.md`, `<name>.csv`, `<name>.tex` in `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = display_frame(frame)
    md, csv, tex = (out_dir / f"{name}.{ext}" for ext in ("md", "csv", "tex"))
    md.write_text(f"{caption}\n\n{markdown(shown)}\n")
    frame.to_csv(csv, index=False)
    plain = caption.replace("**", "").replace("`", "").replace("  \n", " ")
    tex.write_text(shown.to_latex(index=False, caption=_latex_escape(plain), label=f"tab:{name}",
                                  escape=True) + "\n")
    return [md, csv, tex]


def markdown(frame: pd.DataFrame) -> str:
    """A compact GitHub Markdown table of the frame's cells as they are (strings: see
    `display_frame`): cells are not padded to the widest one (a long cell made every line of a
    table 300 columns wide); `|` inside a cell is escaped."""
    def row(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    lines = [row(frame.columns), "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += [row(values) for values in frame.itertuples(index=False, name=None)]
    return "\n".join(lines)


def shown_paths(text: str) -> str:
    """`text` with absolute paths shown relative to the repository (`data/...`) or the home folder
    (`~/.cache/...`), as the report prints them: no `/root/...` in a caption."""
    text = str(text)
    for root, shown in ((str(REPO_ROOT), "."), (str(Path.home()), "~")):
        if root not in ("/", ""):
            text = re.sub(re.escape(root) + r"(?=/|\b|$)", shown, text)
    return text


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                          ("#", r"\#"), ("^", r"\^{}"), ("±", r"$\pm$")):
        text = text.replace(char, escaped)
    return text
