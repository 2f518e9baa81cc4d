"""What the sweeps vary: the paper's grids, read from the tables' own definitions (so a grid trial
is the very node Table 6 or 7 trains), and a search space that keeps T^min <= T^max."""
from __future__ import annotations

import itertools

import optuna
import pytest

from experiments import tables as defs
from pipeline.graph import Pipeline
from pipeline.sweeps.spaces import make_sweep


def test_grid_sweeps_cover_the_papers_grids():
    assert make_sweep("k", "tiny").grid() == {"K": [4, 5, 6, 7, 8, 9, 10]}
    assert make_sweep("temps", "tiny").grid() == {"t_max": [0.5, 0.6, 0.7, 0.8], "t_min": [0.1, 0.2, 0.3, 0.4]}


@pytest.mark.parametrize("kind, table", [("k", "table6"), ("temps", "table7")])
@pytest.mark.parametrize("grid", ["paper", "tiny", "smoke"])
def test_every_grid_point_is_the_node_its_table_trains(kind, table, grid):
    """Same evaluate-stage key as the table's seed-0 row: the sweep and the table share one result."""
    sweep = make_sweep(kind, grid, grid)
    pipeline = Pipeline(grid, data_root="/data" if grid == "paper" else None)
    # a claim row (K = 6, T 0.6/0.4) trains several seeds in the table; a grid trial is its seed 0
    table_keys = {node.key for name, node in pipeline.table(table).inputs.items() if name.endswith("@seed0")}
    if (kind, grid) == ("temps", "tiny"):  # tiny's Table 7 is cut to the optimum and its neighbours
        with pytest.raises(ValueError, match="not a full grid"):
            sweep.grid()
        return
    grid = sweep.grid()
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    assert len(points) == len(table_keys)
    assert {pipeline.evaluate(sweep.run(p)).key for p in points} == table_keys
    assert all(sweep.row_id(p) is not None for p in points)


def test_a_grid_that_is_not_a_product_is_refused(monkeypatch):
    broken = defs.Grids(K=(6,), T=((0.4, 0.6), (0.2, 0.5)))
    monkeypatch.setitem(defs.GRIDS, "smoke", broken)
    with pytest.raises(ValueError, match="not a full grid"):
        make_sweep("temps", "smoke", "smoke").grid()


@pytest.mark.parametrize("sampler", [optuna.samplers.RandomSampler(seed=1),
                                     optuna.samplers.TPESampler(seed=1, n_startup_trials=5)])
def test_search_keeps_t_min_at_most_t_max_on_the_papers_steps(sampler):
    sweep = make_sweep("search", "tiny")
    study = optuna.create_study(direction="maximize", sampler=sampler)
    seen = []
    for _ in range(60):
        trial = study.ask()
        params = sweep.suggest(trial)
        seen.append(params)
        study.tell(trial, params["K"] / 10 - abs(params["t_max"] - 0.6) - abs(params["t_min"] - 0.4))
    assert all(p["t_min"] <= p["t_max"] for p in seen)
    assert all(4 <= p["K"] <= 10 and isinstance(p["K"], int) for p in seen)
    temperatures = [t for p in seen for t in (p["t_min"], p["t_max"])]
    assert set(temperatures) <= {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, "off the paper's 0.1 grid (or not its floats)"
    assert any(p["t_min"] > 0.4 for p in seen) and any(p["t_max"] < 0.5 for p in seen), "ranges overlap, so T^min <= T^max binds"
    assert sweep.run(seen[0]).overrides() == seen[0]
