"""The report reads well: compact Markdown tables, paths relative to the repository or `~`, one
number format per quantity (Table 7's T columns as its row ids), captions that describe only the
columns their table has, and a report whose captions hold no absolute path."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments import tables as defs
from pipeline import REPO_ROOT
from pipeline.report.render import display_frame, markdown, shown_paths, table_frame
from pipeline.stages.report import write_report
from pipeline.stages.table import aggregate_rows, caption
from tests.pipeline.test_render import evaluate_result, markdown_columns

tables = defs.tables("tiny")


def test_markdown_tables_are_not_padded_to_their_longest_cell():
    text = markdown(pd.DataFrame({"method": ["DSLA", "a very long note " * 15], "AP": ["91.70", "–"]}))
    assert text.splitlines()[2] == "| DSLA | 91.70 |"


def test_paths_are_shown_relative_to_the_repository_or_home():
    home = str(Path.home())
    text = f"data: {REPO_ROOT}/data/tiny/synth_crowd; weights: {home}/.cache/dsla/pretrained/w.pt; sqlite:///{REPO_ROOT}/mlflow.db"
    shown = shown_paths(text)
    assert shown == "data: ./data/tiny/synth_crowd; weights: ~/.cache/dsla/pretrained/w.pt; sqlite:///./mlflow.db"


def test_table7_shows_its_t_values_as_its_row_ids_do():
    cells = markdown_columns(markdown(display_frame(table_frame(tables["table7"], {}))))
    assert "0.4" in cells["t_min"] and "0.400" not in cells["t_min"] and "0.6" in cells["t_max"]


def test_a_caption_describes_a_difference_column_only_when_the_table_has_one():
    # tiny: K = 6 is a claim run (3 seeds), K = 4 a grid point (1 seed); Table 6 has no baseline row
    grid = {"K=4@seed0": evaluate_result(0.5, 0.5, 0.9, "e4"),
            **{f"K=6@seed{s}": evaluate_result(0.5, 0.5, 0.9, f"e6{s}") for s in range(3)}}
    rows = aggregate_rows(tables["table6"], grid)
    frame = table_frame(tables["table6"], rows)
    assert not any(c.startswith("Δ") for c in frame.columns)
    assert "Δ" not in caption(tables["table6"], "tiny", 3, rows)
    seeds = {f"{v}@seed{s}": evaluate_result(0.5 + s / 10, 0.5, 0.9, f"{v}{s}") for v in ("baseline", "dsla") for s in (0, 1)}
    rows = aggregate_rows(tables["table4"], seeds)
    assert any(c.startswith("Δ") for c in table_frame(tables["table4"], rows).columns)
    assert "Δ = difference to our baseline" in caption(tables["table4"], "tiny", 2, rows)


def test_the_report_prints_no_absolute_path(tmp_path):
    home = str(Path.home())
    rows = aggregate_rows(tables["table2"], {"dsla@seed0": {**evaluate_result(0.5, 0.8, 0.9, "e1"),
                                                           "weights": f"{home}/.cache/dsla/pretrained/w.pt",
                                                           "data": f"synthetic at {REPO_ROOT}/data/tiny"}})
    table2 = {"rows": rows, "caption": caption(tables["table2"], "tiny", 1, rows)}
    assert home in table2["caption"]
    write_report("tiny", {"table2": table2}, None, tmp_path, tracking_uri=f"sqlite:///{REPO_ROOT}/mlflow.db", commit="c")
    text = (tmp_path / "index.md").read_text()
    assert "~/.cache/dsla/pretrained/w.pt" in text and "./data/tiny" in text
    assert home + "/" not in text and str(REPO_ROOT) not in text
