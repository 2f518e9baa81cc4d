"""docs/ablations.md, run as written (smoke): a row from a user's file outside the repository and
one from `--row` train with the claim seeds, show their Δ and verdict in the report, carry their
overrides in MLflow; `--profile paper --dry-run` plans them without a new file; a typo exits 2.
The project's own rows file is the one the document shows."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from experiments import tables as defs
from pipeline import cli

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "ablations.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)


def python_files() -> dict[str, str]:
    """The document's Python blocks by the file name on their first line (`# my_ablation.py`)."""
    return {block.splitlines()[0].lstrip("# ").split()[0]: block for block in blocks("python")}


def commands() -> list[tuple[list[str], int]]:
    """Every `pipeline ...` line of the bash blocks with its expected exit status (`# exit N`, else 0)."""
    found = []
    for block in blocks("bash"):
        for line in block.splitlines():
            if line.startswith("pipeline "):
                command, _, comment = line.partition("#")
                status = re.search(r"exit (\d+)", comment)
                found.append((shlex.split(command)[1:], int(status.group(1)) if status else 0))
    return found


def test_the_document_shows_the_projects_own_rows_file():
    namespace: dict = {}
    exec(python_files()["experiments/ablations.py"], namespace)
    assert {t: tuple(r) for t, r in namespace["ROWS"].items()} == defs.load_rows(defs.PACKAGE_ROWS)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    outside = tmp_path_factory.mktemp("my_research")  # a user's folder, outside the repository
    assert not outside.resolve().is_relative_to(DOC.parents[1])
    (outside / "my_ablation.py").write_text(python_files()["my_ablation.py"])
    mp = pytest.MonkeyPatch()
    mp.chdir(outside)
    outputs = []
    try:
        for argv, expected in commands():
            code = cli.main(argv + (["--no-progress"] if "--dry-run" not in argv else []))
            outputs.append((argv, expected, code))
    finally:
        mp.undo()
    return {"dir": outside, "runs": outputs}


def test_every_command_exits_as_documented(ran):
    assert len(ran["runs"]) == 4
    for argv, expected, code in ran["runs"]:
        assert code == expected, argv


def test_both_rows_train_with_the_claim_seeds_and_show_delta_and_verdict(ran):
    out = ran["dir"] / "reports" / "out" / "smoke"
    table4 = pd.read_csv(out / "table4.csv", dtype={"id": str}).set_index("id")
    for row in ("prior", "prior_r2.5", "cls1"):
        assert table4.at[row, "source"] == "ours", row
        assert table4.at[row, "seeds (ours)"] == 2, row  # as many seeds as Table 4's variants
        assert pd.notna(table4.at[row, "ΔAP vs baseline (paired)"]), row
    assert table4.at["cls1", "overrides"] == "model.bbox_head.loss_cls.loss_weight=1.0"
    assert table4.at["prior_r2.5", "model"] == "prior-matched, centre radius 2.5"
    index = (out / "index.md").read_text()
    for claim in ("prior-matched, centre radius 2.5 beats prior", "cls1 beats baseline",
                  "DSLA + FS beats the prior-matched baseline"):
        line = next(line for line in index.splitlines() if line.startswith(f"| {claim} |"))
        assert "n=2" in line and re.search(r"\*\*(supported|not resolved|contradicted)\*\*", line), line


def test_both_rows_carry_their_overrides_in_mlflow(ran):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{ran['dir'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("dsla/smoke/crowdhuman").experiment_id
    trainings = client.search_runs([experiment], "params.`cfg_options.model.bbox_head.loss_cls.loss_weight` = '1.0'")
    assert sorted(r.data.params["seed"] for r in trainings if r.data.tags.get("dsla.stage") == "train") == ["0", "1"]
    wide = client.search_runs([experiment], "params.`cfg_options.model.bbox_head.assigner.center_radius` = '2.5'")
    assert {r.data.params["cfg_options.model.bbox_head.assigner.type"] for r in wide} == {"OneToOneAssigner"}
    rows = client.search_runs([experiment], "tags.`dsla.table` = 'table4' and tags.`dsla.row` = 'cls1'")
    assert rows and rows[0].data.params["cfg.model.bbox_head.loss_cls.loss_weight"] == "1.0"
    assert rows[0].data.tags["dsla.train_run_ids"]


def test_paper_dry_run_plans_the_rows_without_a_new_file(ran, capsys):
    argv = next(argv for argv, _, _ in ran["runs"] if "paper" in argv)
    mp = pytest.MonkeyPatch()
    mp.chdir(ran["dir"])
    try:
        assert cli.main(argv) == 0
    finally:
        mp.undo()
    out = capsys.readouterr().out
    for name in ("model.bbox_head.assigner.center_radius=2.5", "model.bbox_head.loss_cls.loss_weight=1.0",
                 "model.bbox_head.assigner.center_radius=1.5"):
        assert re.search(rf"run +train:crowdhuman/baseline[^ ]*{re.escape(name)}[^ ]*/seed0 +missing: never run", out), name
