"""The declarative tables: shared runs are one node, grids per profile, bad runs refused."""
from __future__ import annotations

import pytest

from experiments import tables as defs


def test_default_knobs_make_the_same_run_in_every_table():
    assert defs.Train("crowdhuman", "dsla_fs").overrides() == {"K": 6, "t_max": 0.6, "t_min": 0.4}
    assert defs.Train("crowdhuman", "dsla_fs", K=6).overrides() == defs.Train("crowdhuman", "dsla_fs").overrides()
    assert defs.Train("crowdhuman", "baseline").overrides() == {}


def test_knobs_a_variant_lacks_are_refused():
    with pytest.raises(ValueError, match="no SLA branch; cannot set \\['K'\\]"):
        defs.Train("crowdhuman", "baseline", K=4)
    with pytest.raises(ValueError, match="no Feature Shuffle"):
        defs.Train("crowdhuman", "dsla", S=32)
    with pytest.raises(ValueError, match="unknown variant"):
        defs.Train("crowdhuman", "dslaa")


@pytest.mark.parametrize("profile", ["smoke", "tiny", "paper"])
def test_every_table_row_matches_a_paper_row(profile):
    from pipeline.report.render import paper_frame
    for name, table in defs.tables(profile).items():
        paper_ids = set(paper_frame(name)["id"])
        assert {row.id for row in table.rows if not row.added} <= paper_ids, name  # rows of ours: docs/ablations.md
        assert set(table.metrics) <= set(paper_frame(name).columns), name


def distinct_trainings(profile):
    runs = {row.source for t in defs.tables(profile).values() for row in t.rows if isinstance(row.source, defs.Train)}
    runs |= {run for _, panel in defs.FIGURE4.panels for run in panel}
    return {(r.dataset, r.variant, tuple(sorted(r.overrides().items())), r.cfg) for r in runs}


def test_run_counts_fit_the_profiles():
    # tiny: 4 variants + 3 more K + 3 more (T^min, T^max) on crowds, baseline and DSLA + FS on the sparse
    # preset; in every profile, Table 4's prior-matched baseline (a row of ours, experiments/ablations.py)
    assert len(distinct_trainings("tiny")) == 12 + 1
    assert len(distinct_trainings("paper")) == 4 + 6 + 15 + 4 + 1
    assert len(distinct_trainings("smoke")) == 4 + 1 + 1 + 2 + 1


def test_claim_runs_get_the_profile_seeds_and_grid_points_one():
    from pipeline.graph import Pipeline
    tiny = Pipeline("tiny")
    assert tiny.seeds == defs.CLAIM_SEEDS["tiny"] == 3
    assert len(tiny.table("table4").inputs) == 5 * 3  # the four variants and the prior-matched baseline, 3 seeds each
    table6 = tiny.table("table6").inputs
    assert sorted(name for name in table6 if name.startswith("K=6@")) == ["K=6@seed0", "K=6@seed1", "K=6@seed2"]
    assert [name for name in table6 if name.startswith("K=4@")] == ["K=4@seed0"]
    # K=6 in Table 6 is the very run of Table 4's DSLA + FS (same node, same key)
    assert table6["K=6@seed1"].key == tiny.table("table4").inputs["dsla_fs@seed1"].key
    assert len(tiny.table("table8").inputs) == 2 * 3
    # the claim runs validate every epoch (the plateau precondition of their verdicts), one-seed grid
    # points once; sweeps validate every epoch
    trained = {n: node.inputs["trained"] for n, node in tiny.table("table4").inputs.items()}
    assert all(node.params["val_every_epoch"] for node in trained.values())
    assert not table6["K=4@seed0"].inputs["trained"].params["val_every_epoch"]
    sweep = Pipeline("tiny", curves="all").train(defs.Train("crowdhuman", "dsla_fs", K=4))
    assert sweep.params["val_every_epoch"]
    assert Pipeline("tiny", seeds=1).seeds == 1 and Pipeline("smoke").seeds == 1
