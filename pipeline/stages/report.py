"""Stage `report`: `reports/out/<profile>/` — Tables 1–8 (md, csv, tex), Figure 4 (png), index.md.

`write_report` renders only from recorded stage results (their fields as dicts), so the same
function serves the report stage and `pipeline report`. The links beside each table and Figure 4
open their MLflow runs, found by the keys of the results (`pipeline.report.links`).
"""
from __future__ import annotations

import shutil
import string
import time
from dataclasses import asdict
from pathlib import Path

from experiments import tables as defs

from .. import REPO_ROOT, profiles
from .contracts import Figured, Pictured, Reported, Tabled

TEMPLATE = REPO_ROOT / "reports" / "templates" / "index.md"
QUALITATIVE_SECTION = (
    "## Qualitative results (cf. the paper's Figures 5–7)\n\n"
    "Validation images of the synthetic crowd preset: the baseline's detections (left) beside DSLA + FS's "
    "(right); ground-truth full-body boxes in thin cyan, detections with score >= 0.3 in red. Then the "
    "DSLA + FS model's FPN outputs before and after Feature Shuffle (mean |activation| over channels).\n\n")


def convergence_frame(figure: dict):
    """Per Figure 4 run (seed means): the epoch its curve flattens, the paper's beside ours, and the
    first epoch it reaches the baseline's final AP (what the convergence claim counts, per seed)."""
    import pandas as pd

    from ..report.render import paper_frame
    paper = paper_frame("figure4")
    paper_epochs = {f"{r.dataset}/{r.variant}": r.convergence_epoch for r in paper.itertuples()}
    ours = figure.get("convergence", {})
    reaches = figure.get("reaches_baseline_final", {})
    epochs = {f"{d}/{v}": curve[-1][0] for d, curves in figure.get("panels", {}).items() for v, curve in curves.items() if curve}

    def cell(value):
        return float("nan") if value is None else value
    return pd.DataFrame.from_records([
        {"run": key, "flattens at (paper, of 36)": paper_epochs.get(key, float("nan")),
         "flattens at (ours)": cell(ours.get(key)), "reaches the baseline's final AP at (ours)": cell(reaches.get(key)),
         "epochs (ours)": epochs.get(key, float("nan"))}
        for key in sorted(set(paper_epochs) | set(ours))])


def machine() -> str:
    """This machine's CPU model and core count (the numbers are bit-reproducible on it, not across CPUs)."""
    import os
    import platform

    model = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} cores)"


def write_report(profile: str, tables: dict[str, dict | None], figure: dict | None, out_dir: Path, *,
                 tracking_uri: str, commit: str, qualitative: dict | None = None,
                 stale: list[str] = (), keys: dict[str, str] | None = None) -> list[Path]:
    """Render every table and the figure that has a result; list what is missing or stale in index.md.
    `keys`: the store keys of those results, by table name and "figure4" (their MLflow runs' links)."""
    from ..redact import redact
    from ..report.claims import claims_json, claims_markdown, decide_claims
    from ..report.links import Links
    from ..report.plots import plot_figure4
    from ..report.render import display_frame, markdown, shown_paths, table_frame, write_table
    from .table import paper_grid_ids, table_spec

    specs = {name: table_spec(profile, name, (tables.get(name) or {}).get("added_rows"))
             for name in defs.tables(profile, {})}
    out_dir.mkdir(parents=True, exist_ok=True)
    files, sections, missing = [], [], []
    links = Links(tracking_uri, profile)
    for name, spec in specs.items():
        result = tables.get(name)
        if result is None:
            missing.append(name)
            continue
        files += write_table(table_frame(spec, result["rows"], paper_grid_ids(name)), out_dir, name,
                             shown_paths(result["caption"]))
        section = (out_dir / f"{name}.md").read_text()
        url = links.table((keys or {}).get(name), result)
        if url:
            section = section.rstrip("\n") + f"\n\n[Compare these rows in MLflow]({url})\n"
        sections.append(section)
    figure_png, figure_caption, convergence = "figure4.png", "(Figure 4 has not been produced yet.)", ""
    if figure is not None:
        spec = defs.FIGURE4
        files.append(plot_figure4(figure["panels"], out_dir / "figure4.png", f"{spec.title} — profile {profile}",
                                  order=[dataset for dataset, _ in spec.panels], lr_drop=figure.get("lr_drop")))
        figure_caption = shown_paths(figure["caption"])
        url = links.figure((keys or {}).get("figure4"))
        if url:
            figure_caption += f"\n\n[Baseline vs DSLA + FS, val/AP per epoch overlaid, in MLflow]({url})"
        frame = convergence_frame(figure)
        files += write_table(frame, out_dir, "figure4_convergence",
                             "Convergence, seed-mean curves: where each curve flattens (within 1 AP of its final AP "
                             "from then on; empty: still moving), ours beside the paper's; and the first epoch each "
                             "reaches the baseline's final AP. The Claims section decides on the per-seed values.")
        convergence = markdown(display_frame(frame))
    else:
        missing.append("figure4")
    extras = ""
    if qualitative is not None:
        pictures = [Path(f) for f in qualitative["files"] if Path(f).exists()]
        for picture in pictures:
            shutil.copyfile(picture, out_dir / picture.name)
        files += [out_dir / p.name for p in pictures]
        extras = QUALITATIVE_SECTION + "\n".join(f"![{p.stem}]({p.name})" for p in pictures)
    # the Claims section: every claim of the paper decided from the recorded results alone
    claims = decide_claims(tables, figure, profiles.SHORT_OF_CONVERGENCE.get(profile))
    (out_dir / "claims.md").write_text(claims_markdown(claims, profile, figure) + "\n")
    (out_dir / "claims.json").write_text(claims_json(claims) + "\n")
    files += [out_dir / "claims.md", out_dir / "claims.json"]
    index = out_dir / "index.md"
    index.write_text(string.Template(TEMPLATE.read_text()).substitute(
        claims=claims_markdown(claims, profile, figure),
        profile=profile, generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), commit=commit,
        machine=machine(),
        tracking_uri=shown_paths(redact(tracking_uri)), ui=links.base, tables="\n\n".join(sections), figure_png=figure_png,
        figure_caption=figure_caption, convergence=convergence, extras=extras,
        missing="\n\n".join(filter(None, [
            f"**Not produced yet (not run or failed): {', '.join(missing)}.**" if missing else "",
            f"**Stale (code or parameters changed since they ran; `pipeline run --dry-run` says what): "
            f"{', '.join(stale)}.**" if stale else ""]))))
    return [index, *files]


def report(ctx, *, profile: str, dataset: str, seeds: int, figure4: Figured | None = None,
           qualitative: Pictured | None = None, **tables: Tabled) -> Reported:
    from ..report.claims import claims_tags, decide_claims

    recorded = {name: asdict(result) for name, result in tables.items()}
    figure = asdict(figure4) if figure4 is not None else None
    out_dir = Path(ctx.settings.get("report_dir") or Path("reports") / "out" / profile).resolve()
    # where the runs are and which commit made them: how the report was run, given by the command
    uri, commit = ctx.settings.get("tracking_uri", ""), ctx.settings.get("commit", "")
    files = write_report(profile, recorded, figure, out_dir, tracking_uri=uri, commit=commit,
                         qualitative=asdict(qualitative) if qualitative is not None else None, keys=dict(ctx.input_keys))
    verdicts = claims_tags(decide_claims(recorded, figure, profiles.SHORT_OF_CONVERGENCE.get(profile)))
    return Reported(report_dir=str(out_dir), index=str(files[0]), files=[str(f) for f in files], verdicts=verdicts)
