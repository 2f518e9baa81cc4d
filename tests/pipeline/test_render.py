"""Tables rendered beside the paper's numbers; Figure 4's convergence marks."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd

from experiments import tables as defs
from pipeline.report.claims import first_epoch_reaching
from pipeline.report.plots import plot_figure4
from pipeline.report.render import NOT_RUN, QUOTED, table_frame, write_table
from pipeline.stages.table import aggregate_rows, caption

tables = defs.tables("tiny")


def evaluate_result(ap, mr2, recall, run_id):
    return {"metrics": {"AP": ap, "MR2": mr2, "JI": 0.5, "Recall": recall}, "run": {"variant": "dsla_fs"},
            "knobs": {}, "data": "synthetic crowd preset", "weights": "random init"}


def test_table2_puts_ours_beside_the_paper_and_marks_quoted_rows():
    rows = aggregate_rows(tables["table2"], {"dsla@seed0": evaluate_result(0.5, 0.8, 0.9, "e1")})
    frame = table_frame(tables["table2"], rows).set_index("id")
    assert len(frame) == 13  # every paper row, ours added beside two of them
    assert frame.at["dsla", "AP (paper)"] == 91.7 and math.isclose(frame.at["dsla", "AP (ours)"], 50.0)
    assert frame.at["dsla", "method"] == "DSLA"
    assert frame.at["atss", "source"] == QUOTED and math.isnan(frame.at["atss", "AP (ours)"])
    assert frame.at["baseline", "source"] == NOT_RUN


def test_several_seeds_give_mean_and_std(tmp_path):
    inputs = {f"dsla_fs@seed{s}": evaluate_result(ap, 0.5, 0.9, f"e{s}") for s, ap in enumerate((0.40, 0.50, 0.60))}
    rows = aggregate_rows(tables["table4"], inputs)
    assert rows["dsla_fs"]["n"] == 3 and math.isclose(rows["dsla_fs"]["AP"], 50.0)
    assert math.isclose(rows["dsla_fs"]["AP_std"], 10.0)
    frame = table_frame(tables["table4"], rows)
    md, csv, tex = write_table(frame, tmp_path, "table4", caption(tables["table4"], "tiny", 3, rows))
    assert "50.00 ± 10.00" in md.read_text() and "mean ± std over 3 seeds" in md.read_text()
    back = pd.read_csv(csv).set_index("id")
    assert math.isclose(back.at["dsla_fs", "AP (ours) std"], 10.0) and back.at["fs", "FS"] == "yes"
    assert "\\begin{tabular}" in tex.read_text() and "50.00 ± 10.00" in tex.read_text()


def test_table7_says_its_paper_columns_are_inferred():
    assert "inferred" in caption(tables["table7"], "tiny", 1, {})
    frame = table_frame(tables["table7"], {}).set_index("id")
    assert frame.at["t_min=0.4/t_max=0.6", "AP (paper)"] == 91.7 and len(frame) == 16


def test_first_epoch_reaching_a_target_ap():
    assert first_epoch_reaching([(1, 0.1), (2, 0.5), (3, 0.58), (4, 0.55), (5, 0.6)], 0.55) == 3
    assert first_epoch_reaching([(1, 0.6)], 0.7) is None and first_epoch_reaching([], 0.1) is None


def test_figure4_png_is_written(tmp_path):
    path = plot_figure4({"crowdhuman": {"baseline": [(1, 0.1), (2, 0.3)], "dsla_fs": [(1, 0.2), (2, 0.35)]}},
                        tmp_path / "f.png", "Figure 4", lr_drop=1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_cell_of_a_column_has_the_same_decimals(tmp_path):
    """Fixed decimals per quantity (percent metrics to 0.01, COCO's overlaps to 1e-4), the paper's
    numbers too, through pandas' to_markdown: no `%.4g` mix of 3.1 and 0.09867."""
    rows = aggregate_rows(tables["table4"], {"dsla_fs@seed0": evaluate_result(0.09867056424623137, 0.5, 0.9, "e")})
    cells = markdown_columns(write_table(table_frame(tables["table4"], rows), tmp_path, "table4", "c")[0].read_text())
    # row 3: DSLA + FS (the prior-matched baseline, a row of ours, follows)
    assert cells["AP (ours)"][3] == "9.87" and "90.10" in cells["AP (paper)"]
    for column in ("AP (paper)", "MR2 (paper)", "Recall (paper)", "AP (ours)"):
        numbers = [c for c in cells[column] if c != "–"]
        assert numbers and all(len(c.split(".")[1]) == 2 for c in numbers), (column, numbers)
    density = table_frame(tables["table1"], {"coco": {"objects_per_image": 9.3, "overlaps_per_image": 0.00152}})
    cells = markdown_columns(write_table(density, tmp_path, "table1", "c")[0].read_text())
    assert cells["overlaps_per_image (ours)"] == ["–", "0.0015"] and cells["objects_per_image (ours)"] == ["–", "9.30"]
    assert cells["objects_per_image (paper)"] == ["22.64", "9.34"] and cells["overlaps_per_image (paper)"][0] == "2.4000"


def markdown_columns(md: str) -> dict[str, list[str]]:
    lines = [line for line in md.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = {c: [] for c in header}
    for line in lines[2:]:
        for column, cell in zip(header, line.strip("|").split("|")):
            cells[column].append(cell.strip())
    return cells


def test_markdown_escapes_pipes_in_cells():
    from pipeline.report.render import markdown
    text = markdown(pd.DataFrame({"a": ["x|y"], "b": ["1.50"]}))
    assert text.splitlines()[2].count("|") == 4 and "x\\|y" in text


def test_first_lr_drop_is_the_first_milestone_of_the_schedule(tmp_path):
    from pipeline.stages.figure import first_lr_drop

    config = tmp_path / "config.py"
    config.write_text("param_scheduler = [dict(type='LinearLR', by_epoch=False, begin=0, end=50),\n"
                      "                   dict(type='MultiStepLR', by_epoch=True, milestones=[11, 8], gamma=0.1)]\n")
    flat = tmp_path / "flat.py"
    flat.write_text("param_scheduler = dict(type='ConstantLR', factor=1.0)\n")
    def trained(path):
        return SimpleNamespace(config=str(path))  # what `first_lr_drop` reads of a `Trained`
    assert first_lr_drop({"a@seed0": trained(config)}) == 8
    assert first_lr_drop({"a@seed0": trained(flat)}) is None
