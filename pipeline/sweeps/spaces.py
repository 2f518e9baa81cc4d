"""What each sweep varies, read from the one definition of the paper's grids: `experiments/tables.py`.

- `k`: the runs of Table 6 (DSLA + FS on CrowdHuman, K varied);
- `temps`: the runs of Table 7 (the same, T^min x T^max varied);
- `search`: TPE over (K, T^max, T^min) spanning the ranges of the paper's grids, T^min <= T^max.

A grid sweep's points are the rows of its table in the `paper` profile (the paper's full grids:
K = 4..10, T^min in {0.1..0.4} x T^max in {0.5..0.8}) or, with `grid=<profile>`, in that profile's
reduced grid. Each point is the table row's own `Train`, so a trial is the very node Table 6 or 7
would train: same key, same cached result. A search trial replaces the same knobs in that run.
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

from experiments import tables as defs

KINDS = ("k", "temps", "search")
GRID_TABLES = {"k": "table6", "temps": "table7"}
# The paper's grids are spaced by 0.1 in T; the search keeps that step, so every point it tries is
# a point a grid may train too (and shares its cache).
TEMPERATURE_STEP = 0.1


@dataclass(frozen=True)
class Sweep:
    """One sweep: its kind, the profile its trials train in, and the table whose runs it varies."""

    kind: str
    profile: str
    grid_profile: str  # whose grid (tables(grid_profile)) a grid sweep covers; the search's ranges
    table: object  # the experiments/tables.py Table the points come from

    @property
    def template(self):
        """The table's run; a trial replaces the swept knobs in it."""
        return self.table.rows[0].source

    @property
    def is_grid(self) -> bool:
        return self.kind in GRID_TABLES

    @property
    def knobs(self) -> tuple[str, ...]:
        if not self.is_grid:
            return ("K", "t_max", "t_min")
        rows = [row.source for row in self.table.rows]
        return tuple(f.name for f in dataclasses.fields(rows[0]) if len({getattr(r, f.name) for r in rows}) > 1)

    def grid(self) -> dict[str, list]:
        """GridSampler's search space: each knob's values; the table's rows must be their product."""
        points = {tuple(getattr(row.source, k) for k in self.knobs) for row in self.table.rows}
        values = {k: sorted({p[i] for p in points}) for i, k in enumerate(self.knobs)}
        if set(itertools.product(*values.values())) != points:
            raise ValueError(f"{self.table.name} rows of profile {self.grid_profile!r} are not a full grid over "
                             f"{self.knobs}; GridSampler needs the product of {values} "
                             "(sweep another profile's grid with --grid)")
        return values

    def ranges(self) -> dict[str, tuple]:
        """The search's bounds: K over the paper's K grid, both temperatures over its T range."""
        grids = defs.GRIDS[self.grid_profile]
        temperatures = [t for pair in grids.T for t in pair]
        return {"K": (min(grids.K), max(grids.K)), "T": (min(temperatures), max(temperatures))}

    def suggest(self, trial) -> dict:
        """The trial's knobs. Grid: the point GridSampler assigned. Search: T^min <= T^max by
        construction (eq. 4 decays T_j from T^max in the first epoch to T^min in the last), values
        on the paper's 0.1 grid."""
        if self.is_grid:
            grid = self.grid()
            return {k: (trial.suggest_int(k, min(v), max(v)) if isinstance(v[0], int)
                        else trial.suggest_float(k, min(v), max(v))) for k, v in grid.items()}
        bounds = self.ranges()
        (k_low, k_high), (t_low, t_high) = bounds["K"], bounds["T"]
        k = trial.suggest_int("K", k_low, k_high)
        t_max = round(trial.suggest_float("t_max", t_low, t_high, step=TEMPERATURE_STEP), 2)
        t_min = round(trial.suggest_float("t_min", t_low, t_max, step=TEMPERATURE_STEP), 2)
        return {"K": k, "t_max": t_max, "t_min": t_min}

    def run(self, params: dict):
        """The `Train` of a trial (validated by `Train` itself)."""
        return dataclasses.replace(self.template, **{k: params[k] for k in self.knobs})

    def row_id(self, params: dict) -> str | None:
        """The table row a grid point stands in (None for search points off the table)."""
        run = self.run(params)
        return next((row.id for row in self.table.rows if row.source == run), None)

    def max_epochs(self) -> int:
        """The training schedule's length in this profile (Hyperband's largest budget)."""
        from experiments import compose

        return int(compose.compose(self.profile, self.template.variant, self.template.dataset)
                   .train_cfg.max_epochs)

    def describe(self) -> dict:
        """What the study was created for (stored with it; a resumed study must match)."""
        space = {k: list(v) for k, v in self.grid().items()} if self.is_grid else \
            {k: list(v) for k, v in self.ranges().items()}
        return {"kind": self.kind, "profile": self.profile, "grid_profile": self.grid_profile,
                "table": self.table.name, "space": space}


def make_sweep(kind: str, profile: str, grid: str = "paper") -> Sweep:
    """The sweep `kind` of `profile`; `grid` names the profile whose grid (or ranges) it covers."""
    if kind not in KINDS:
        raise ValueError(f"unknown sweep {kind!r}; expected one of {KINDS}")
    for name in (profile, grid):
        if name not in defs.PROFILES:
            raise ValueError(f"unknown profile {name!r}; expected one of {defs.PROFILES}")
    table = defs.tables(grid)[GRID_TABLES.get(kind, "table6")]
    return Sweep(kind, profile, grid, table)
