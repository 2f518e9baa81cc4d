"""Rows of ours as data (docs/ablations.md): declared in a file or with --row, checked before any
training, keyed by their overrides (and only by them), claimed against their reference, shown as
`ours` with their overrides. No training here: tests/docs/test_ablations_doc.py trains them."""
from __future__ import annotations

import pytest

from experiments import tables as defs
from pipeline import cli
from pipeline.engine.execution import _why_new_key
from pipeline.graph import Pipeline
from pipeline.report.claims import NOT_RESOLVED, SUPPORTED, added_row_claims
from pipeline.report.render import OURS, OVERRIDES, table_frame

RADIUS = "model.bbox_head.assigner.center_radius"
ASSIGNER = "model.bbox_head.assigner"


def row(name, radius=2.5, **fields):
    return defs.Row(name, defs.Train("crowdhuman", "baseline", cfg={ASSIGNER: dict(type="OneToOneAssigner",
                                                                                  center_radius=radius)}), **fields)


def train_key(pipeline, name, seed=0):
    return pipeline.table("table4").inputs[f"{name}@seed{seed}"].inputs["trained"].key


def test_a_rows_key_changes_with_its_overrides_and_only_then():
    plain = Pipeline("tiny")
    wide = Pipeline("tiny", rows={"table4": [row("wide", 2.5)]})
    wider = Pipeline("tiny", rows={"table4": [row("wide", 3.5)]})
    dotted = Pipeline("tiny", rows={"table4": [defs.Row("wide", defs.Train("crowdhuman", "baseline", cfg={
        f"{ASSIGNER}.type": "OneToOneAssigner", RADIUS: 2.5}))]})
    assert train_key(wide, "wide") != train_key(wider, "wide")  # the override changed
    assert train_key(wide, "wide") == train_key(dotted, "wide")  # one override, two spellings
    for name in ("baseline", "fs", "dsla", "dsla_fs", "prior"):  # adding a row re-keys no other training
        assert train_key(plain, name) == train_key(wide, name), name
    assert plain.table("table4").key != wide.table("table4").key  # ... but the table
    assert plain.table("table6").key == wide.table("table6").key
    # claim seeds: 3 on tiny for the row as for Table 4's variants
    assert sorted(n for n in wide.table("table4").inputs if n.startswith("wide@")) == [
        "wide@seed0", "wide@seed1", "wide@seed2"]
    node = wide.table("table4").inputs["wide@seed0"].inputs["trained"]
    assert node.params["cfg_options"] == {f"{ASSIGNER}.type": "OneToOneAssigner", RADIUS: 2.5}
    assert "cfg_options" not in plain.table("table4").inputs["baseline@seed0"].inputs["trained"].params


def test_the_prior_matched_baseline_is_a_row_of_table4_in_every_profile():
    for profile in defs.PROFILES:
        table4 = defs.tables(profile)["table4"]
        prior = next(r for r in table4.rows if r.id == "prior")
        assert prior.added and prior.reference_row() == "baseline"
        assert prior.source.cfg_options() == {f"{ASSIGNER}.type": "OneToOneAssigner", RADIUS: 1.5}
        assert [c for c, _ in prior.challengers] == ["dsla", "dsla_fs"]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_an_unknown_key_is_one_line_and_exit_2_before_anything_runs(in_tmp, capsys):
    code = cli.main(["run", "table4", "--profile", "smoke", "--dry-run",
                     "--row", "typo=baseline:model.bbox_head.asigner.type=OneToOneAssigner"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "table4 row 'typo'" in err and "unknown config key 'model.bbox_head.asigner'" in err
    assert not (in_tmp / "work_dirs").exists()
    # a knob's config key is refused: the knob is a field (one run, one key)
    assert cli.main(["run", "table4", "--profile", "smoke", "--dry-run",
                     "--row", "k8=dsla:model.bbox_head.num_soft_anchors=8"]) == 2
    assert "the method knob K" in capsys.readouterr().err
    assert cli.main(["run", "table4", "--profile", "smoke", "--dry-run", "--row", "k8=dsla:K=8"]) == 0


@pytest.mark.parametrize("text, message", [
    ("ROWS = {'table4': [Row('x', Train('crowdhuman', 'baseline'), reference='nope')]}", "names row 'nope'"),
    ("ROWS = {'table4': [Row('dsla', Train('crowdhuman', 'baseline'))]}", "already has a row 'dsla'"),
    ("ROWS = {'table4': [Row('x', Train('coco', 'baseline'))]}", "trains on 'coco'"),
    ("ROWS = {'table9': []}", "unknown table 'table9'"),
    ("X = 1", "defines no ROWS"),
    ("ROWS = {\n  'table4': [Row('x', Train('crowdhuman', 'baseline', K=3))]}", "my_rows.py, line 4: ValueError"),
    ("ROWS = {", "my_rows.py, line 3: SyntaxError"),
])
def test_a_bad_rows_file_is_one_line_naming_it(in_tmp, capsys, text, message):
    (in_tmp / "my_rows.py").write_text("from experiments.tables import Row, Train\n\n" + text + "\n")
    assert cli.main(["run", "table4", "--profile", "smoke", "--dry-run", "--tables", "my_rows.py"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_paper_dry_run_plans_a_users_rows_without_a_new_file(in_tmp, capsys):
    (in_tmp / "my_rows.py").write_text(
        "from experiments.tables import Row, Train\n"
        f"ROWS = {{'table4': [Row('wide', Train('crowdhuman', 'baseline', cfg={{'{RADIUS}': 2.5, "
        f"'{ASSIGNER}.type': 'OneToOneAssigner'}}))]}}\n")
    code = cli.main(["run", "table4", "--profile", "paper", "--data-root", str(in_tmp), "--dry-run",
                     "--tables", "my_rows.py", "--row", "cls1=baseline:model.bbox_head.loss_cls.loss_weight=1.0"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"train:crowdhuman/baseline,{RADIUS}=2.5,{ASSIGNER}.type=OneToOneAssigner/seed0" in out
    assert "train:crowdhuman/baseline,model.bbox_head.loss_cls.loss_weight=1.0/seed0" in out
    assert "missing: never run" in out


def test_a_node_last_run_in_another_profile_is_never_run_in_this_one():
    node = Pipeline("tiny").table("table4").inputs["prior@seed0"].inputs["trained"]
    smoke = {"key": "abc", "params": {**node.params, "profile": "smoke"}, "inputs": {}}
    assert _why_new_key(node, smoke) == "missing: never run in profile tiny (last run in smoke)"
    assert _why_new_key(node, None) == "missing: never run"
    same = {"key": "abc", "params": {**node.params, "seed": 5}, "inputs": {}}
    assert "param changed: seed 5 -> 0" in _why_new_key(node, same)


FLAT = [[1, 0.3], [2, 0.5], [3, 0.600], [4, 0.605], [5, 0.600]]  # plateaued: last three within 1 AP


def results(per_seed: dict[str, list[float]], declarations, curve=FLAT) -> dict:
    rows = {name: {"per_seed": {str(s): {"AP": v} for s, v in enumerate(values)}, "n": len(values),
                   "AP": sum(values) / len(values), "curves": {str(s): curve for s in range(len(values))}}
            for name, values in per_seed.items()}
    return {"table4": {"rows": rows, "added_rows": declarations}}


def test_rows_of_ours_are_claimed_against_their_reference_and_challengers():
    prior = next(r for r in defs.tables("tiny")["table4"].rows if r.id == "prior")
    tables = results({"baseline": [40, 41, 42], "prior": [60, 62, 61], "dsla": [60.5, 61, 61.5],
                      "dsla_fs": [63, 65, 64]}, [defs.declaration(prior)])
    claims = {c.claim: c for c in added_row_claims(tables)}
    assert list(claims) == ["The prior-matched baseline beats OneNet's matching",
                            "DSLA beats the prior-matched baseline", "DSLA + FS beats the prior-matched baseline"]
    first = claims["The prior-matched baseline beats OneNet's matching"]
    assert first.effect == pytest.approx(20.0) and first.n == 3 and first.verdict == SUPPORTED
    assert claims["DSLA beats the prior-matched baseline"].effect == pytest.approx(0.0)
    assert claims["DSLA beats the prior-matched baseline"].verdict != SUPPORTED
    assert claims["DSLA + FS beats the prior-matched baseline"].verdict == SUPPORTED
    assert "ours, beyond the paper" in first.paper
    # gated as the paper's accuracy claims: a run still rising leaves the verdict open
    rising = results({"baseline": [40, 41, 42], "prior": [60, 62, 61]}, [defs.declaration(prior)],
                     curve=[[1, 0.3], [2, 0.4], [3, 0.5], [4, 0.55], [5, 0.6]])
    first = {c.claim: c for c in added_row_claims(rising)}["The prior-matched baseline beats OneNet's matching"]
    assert first.verdict == NOT_RESOLVED and "still rising" in first.why


def test_the_table_shows_a_row_of_ours_as_ours_with_its_overrides():
    table4 = Pipeline("tiny", rows={"table4": [row("wide", 2.5, label="wider prior")]}).tables["table4"]
    frame = table_frame(table4, {"wide": {"AP": 50.0, "n": 1}}).set_index("id")
    assert frame.at["wide", "source"] == OURS and frame.at["prior", "source"] == f"{OURS}: not run"
    assert frame.at["wide", "model"] == "wider prior" and (frame.at["wide", "FS"], frame.at["wide", "DSLA"]) == ("no", "no")
    assert frame.at["wide", OVERRIDES] == f"{ASSIGNER}.center_radius=2.5, {ASSIGNER}.type=OneToOneAssigner"
    assert frame.at["dsla", OVERRIDES] == "" and frame.at["dsla", "source"] == "not run"


def test_row_runs_carry_the_overrides_as_params():
    from pipeline.tracking import records
    params = records.row_params({"run": {"variant": "baseline", "dataset": "crowdhuman"}, "n": 3,
                                 "cfg": {RADIUS: 2.5}})
    assert params[f"cfg.{RADIUS}"] == "2.5" and params["variant"] == "baseline"


def test_parse_row():
    table4 = defs.tables("smoke", {})["table4"]
    parsed = defs.parse_row(f"p=baseline:{ASSIGNER}.type=OneToOneAssigner:{RADIUS}=1.5", table4)
    assert parsed.source == defs.tables("smoke")["table4"].rows[-1].source  # the project's prior row
    assert defs.parse_row("k=dsla_fs:K=8:t_min=0.3", table4).source == defs.Train("crowdhuman", "dsla_fs", K=8, t_min=0.3)
    assert defs.parse_row("s=fs:model.neck.0.out_channels=32", table4).source.cfg_options() == {
        "model.neck.0.out_channels": 32}
    assert defs.parse_row("l=baseline:a.b=false:a.c=None:a.d=x:a.e=1e-3:a.f=[1,2]", table4).source.cfg_options() == {
        "a.b": False, "a.c": None, "a.d": "x", "a.e": 0.001, "a.f": [1, 2]}  # as mmengine's --cfg-options
    for bad in ("nobase", "x=", "x=nosuchvariant:a.b=1", "x=dsla:K=0"):
        with pytest.raises(ValueError, match="--row"):
            defs.parse_row(bad, table4)
