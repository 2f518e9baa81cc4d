"""The declarative tables: shared runs are one node, grids per profile, bad runs refused."""
from __future__ import annotations

import pytest

from pipeline.graph import definitions

defs = definitions()


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
        assert {row.id for row in table.rows} <= paper_ids, name
        assert set(table.metrics) <= set(paper_frame(name).columns), name


def distinct_trainings(profile):
    runs = {row.source for t in defs.tables(profile).values() for row in t.rows if isinstance(row.source, defs.Train)}
    runs |= {run for _, panel in defs.FIGURE4.panels for run in panel}
    return {(r.dataset, r.variant, tuple(sorted(r.overrides().items()))) for r in runs}


def test_run_counts_fit_the_profiles():
    # tiny: 4 variants + 3 more K + 5 more (T^min, T^max) on crowds, 4 variants on the sparse preset
    assert len(distinct_trainings("tiny")) == 16
    assert len(distinct_trainings("paper")) == 4 + 6 + 15 + 4
    assert len(distinct_trainings("smoke")) == 4 + 1 + 1 + 2
