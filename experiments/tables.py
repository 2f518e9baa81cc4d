"""The paper's Tables 1–8 and Figure 4, declared as data: which runs each one needs.

Nothing here runs anything. `pipeline.graph` turns these definitions into DAG nodes (prepare →
train → evaluate / complexity → table → report); a run shared by several tables (e.g. DSLA with
K = 6, T^max = 0.6, T^min = 0.4 is a row of Tables 2, 3, 4, 6 and 7) is one node, trained once.

Row ids match the `id` column of the paper's numbers in `reports/paper/<table>.csv`; paper rows
without a row here (detectors we do not train) are shown as quoted from the paper.

Grids per profile (Tables 6, 7 and the Table 8 analogue):
- `paper`: the paper's full grids, K = 4..10 and T^min ∈ {0.1..0.4} × T^max ∈ {0.5..0.8}.
- `tiny`: a reduced grid that fits the CPU budget: K ∈ {4, 6, 8, 10} (every other point of the
  paper's range), (T^min, T^max) ∈ {(0.4, 0.5), (0.4, 0.6), (0.4, 0.7), (0.2, 0.6)} (the paper's
  optimum 0.4/0.6 and its neighbours on both axes), and on the sparse preset the baseline and
  DSLA + FS behind the COCO claim.
- `smoke`: one extra point per grid and two variants on the sparse preset — enough to check the
  tables' shape in the test suite.
The full grids of the smaller profiles are the sweeps' business (Optuna grids over the same
train + evaluate stages, so they share this cache).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, make_dataclass
from functools import lru_cache

from . import compose, knobs

# variant -> (Feature Shuffle, SLA branch), as Table 4's FS / DSLA columns.
VARIANTS = {"baseline": (False, False), "fs": (True, False), "dsla": (False, True), "dsla_fs": (True, True)}
DATASETS = ("crowdhuman", "coco")
PROFILES = ("smoke", "tiny", "paper")


def branches(variant: str) -> dict[str, bool]:
    """Which optional parts a variant has: {"fs": Feature Shuffle, "sla": the SLA branch}."""
    has_fs, has_sla = VARIANTS[variant]
    return {"fs": has_fs, "sla": has_sla}


def _check_train(self) -> None:
    cfg = self.cfg
    if isinstance(cfg, dict):  # given as {dotted key: value}: kept as sorted (key, canonical JSON) pairs
        for key in cfg:
            if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
                raise ValueError(f"cfg override key {key!r}: expected a dotted config key, e.g. model.bbox_head.assigner")
        cfg = tuple(sorted((key, compose.canonical(value, f"cfg override {key}"))
                           for key, value in compose.flatten(cfg).items()))
        object.__setattr__(self, "cfg", cfg)
    elif not isinstance(cfg, tuple):
        raise ValueError(f"cfg={cfg!r}: expected a dict of config overrides {{dotted key: value}}")
    if self.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {DATASETS}")
    if self.variant not in VARIANTS:
        raise ValueError(f"unknown variant {self.variant!r}; expected one of {sorted(VARIANTS)}")
    knobs.validate(self.knobs(), branches(self.variant), self.variant)


def _given_knobs(self) -> dict:
    """The knobs this run sets explicitly."""
    return {name: getattr(self, name) for name in knobs.NAMES if getattr(self, name) is not None}


def _cfg_options(self) -> dict:
    """The run's config overrides (mmengine `--cfg-options`, see experiments/compose.py): {dotted key: value}."""
    return {key: json.loads(value) for key, value in self.cfg}


def _overrides(self) -> dict:
    """The method knobs this run sets: the paper's defaults for the variant's branches plus any given.

    Filling the defaults in makes "DSLA with K = 6" the same run (same key) in every table.
    """
    return {**knobs.paper_defaults(branches(self.variant)), **self.knobs()}


# One training configuration, trained then evaluated: `Train(dataset, variant, K=..., t_max=..., ...,
# cfg={dotted key: value})` with one optional field per knob of `experiments.knobs.KNOBS` (`None` =
# the config's value) and any other config overrides in `cfg` (mmengine `--cfg-options` syntax;
# see experiments/compose.py for how a dict value and a new `type` behave).
Train = make_dataclass(
    "Train", [("dataset", str), ("variant", str)]
    + [(k.name, f"{k.kind.__name__} | None", field(default=None)) for k in knobs.KNOBS]
    + [("cfg", "tuple", field(default=()))],
    frozen=True,
    namespace={"__post_init__": _check_train, "knobs": _given_knobs, "overrides": _overrides,
               "cfg_options": _cfg_options,
               "__doc__": "One training configuration, trained then evaluated (`None` = the config's value)."})
Train.__module__ = __name__  # pickled by reference (worker processes), like a class statement's


@dataclass(frozen=True)
class Density:
    """Table 1 statistics of a prepared dataset."""

    dataset: str


@dataclass(frozen=True)
class Complexity:
    """Params and FLOPs of a variant's inference graph (deployed, O2O only) or training graph."""

    dataset: str
    variant: str
    phase: str  # "infer" or "train"


@dataclass(frozen=True)
class Row:
    """A table row. The paper's rows are declared in `tables`; a row of ours (an ablation) is
    declared the same way in a rows file (`experiments/ablations.py`, a user's `--tables FILE`) or
    with `pipeline run --row`, and then also carries the fields after `source`."""

    id: str  # the paper row it stands beside (`id` in reports/paper/<table>.csv), or a new id of ours
    source: Train | Density | Complexity
    reference: str | None = None  # a row of ours: the row it is claimed to beat (default "baseline")
    label: str = ""  # a row of ours: its name in the table's label column and in its claims
    claim: str = ""  # "<label> beats <reference>" in words (default from the label and reference)
    challengers: tuple[tuple[str, str], ...] = ()  # (row id, claim in words): rows claimed to beat this one
    added: bool = False  # a row of ours (set when a rows file or --row adds it): source = ours

    def name(self) -> str:
        return self.label or self.id

    def reference_row(self) -> str:
        return self.reference or BASELINE_ROW


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    dataset: str  # where its rows come from ("both" for Table 1)
    metrics: tuple[str, ...]  # columns shown as paper / ours pairs
    labels: tuple[str, ...]  # descriptive columns taken from the paper's CSV (or our rows)
    rows: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    panels: tuple[tuple[str, tuple[Train, ...]], ...]  # (dataset, runs whose AP curves it plots)
    caption: str = ""


@dataclass(frozen=True)
class Grids:
    K: tuple[int, ...]
    T: tuple[tuple[float, float], ...]  # (t_min, t_max)
    table8_variants: tuple[str, ...] = field(default=tuple(VARIANTS))


GRIDS = {
    "paper": Grids(K=(10, 9, 8, 7, 6, 5, 4),
                   T=tuple((t_min, t_max) for t_min in (0.4, 0.3, 0.2, 0.1) for t_max in (0.5, 0.6, 0.7, 0.8))),
    # tiny: the paper's optimum and its four neighbours on the two axes (T^max ± 0.1 at T^min 0.4,
    # T^min 0.2 at T^max 0.6); Table 8 only the pair behind the COCO claim (3 seeds each): the CPU
    # budget (README, reports/benchmarks.md) does not hold the one-seed FS and DSLA rows as well
    "tiny": Grids(K=(10, 8, 6, 4), T=((0.4, 0.5), (0.4, 0.6), (0.4, 0.7), (0.2, 0.6)),
                  table8_variants=("baseline", "dsla_fs")),
    "smoke": Grids(K=(6, 4), T=((0.4, 0.6), (0.2, 0.6)), table8_variants=("baseline", "dsla_fs")),
}

BASELINE_ROW = "baseline"
METRICS_CROWD = ("AP", "MR2", "JI", "Recall")
METRICS_COCO = ("AP", "AP50", "AP75")


def tables(profile: str, added: dict[str, tuple[Row, ...]] | None = None) -> dict[str, Table]:
    """Tables 1–8 for `profile` (grids differ by profile, see the module docstring), with the rows of
    ours in `added` ({table: rows}; None: the project's own, `experiments/ablations.py`)."""
    if profile not in GRIDS:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    paper = _paper_tables(profile)
    for table, rows in (package_rows() if added is None else added).items():
        paper[table] = with_rows(paper, table, rows)
    return paper


def _paper_tables(profile: str) -> dict[str, Table]:
    grids = GRIDS[profile]
    crowd = {variant: Train("crowdhuman", variant) for variant in VARIANTS}
    quoted = "Rows without our numbers are quoted from the paper; we do not train those detectors."
    return {t.name: t for t in (
        Table("table1", "Instance density (IoU > 0.5 counts as an overlap)", "both",
              ("objects_per_image", "overlaps_per_image"), ("dataset",),
              tuple(Row(d, Density(d)) for d in DATASETS),
              "COCO: averaged over categories, as the paper's footnote. Ours: the synthetic presets "
              "(crowd for CrowdHuman, sparse for COCO) unless --data-root points at the real data."),
        Table("table2", "Detectors on CrowdHuman val", "crowdhuman", METRICS_CROWD, ("method",),
              (Row("baseline", crowd["baseline"]), Row("dsla", crowd["dsla_fs"])), quoted),
        Table("table3", "End-to-end detectors on CrowdHuman val", "crowdhuman", ("AP", "MR2", "Recall"), ("method",),
              (Row("baseline", crowd["baseline"]), Row("dsla", crowd["dsla_fs"])), quoted),
        Table("table4", "Ablation on CrowdHuman (FS = Feature Shuffle, DSLA = SLA branch)", "crowdhuman",
              ("AP", "MR2", "Recall"), ("model", "FS", "DSLA"),
              tuple(Row(variant, run) for variant, run in crowd.items())),
        Table("table5", "Params and FLOPs: inference graph vs training graph", "crowdhuman",
              ("params_M", "GFLOPs"), ("model", "phase"),
              (Row("baseline/infer", Complexity("crowdhuman", "baseline", "infer")),
               Row("dsla_fs/infer", Complexity("crowdhuman", "dsla_fs", "infer")),
               Row("dsla_fs/train", Complexity("crowdhuman", "dsla_fs", "train"))),
              "Ours are measured at the profile's test input size; the paper does not state its input size."),
        Table("table6", "Number of soft anchors K (DSLA + FS, CrowdHuman)", "crowdhuman", ("AP", "Recall"), ("K",),
              tuple(Row(f"K={k}", Train("crowdhuman", "dsla_fs", K=k)) for k in grids.K),
              f"Grid of the {profile} profile: K in {list(grids.K)} (see experiments/tables.py)."),
        Table("table7", "AP over T^min x T^max (DSLA + FS, CrowdHuman)", "crowdhuman", ("AP",), ("t_min", "t_max"),
              tuple(Row(f"t_min={lo}/t_max={hi}", Train("crowdhuman", "dsla_fs", t_min=lo, t_max=hi)) for lo, hi in grids.T),
              "The paper's T^max column headers were lost in its text extraction and are inferred as "
              "0.5, 0.6, 0.7, 0.8 from the text (best AP 91.7 at T^max = 0.6, T^min = 0.4). "
              f"Grid of the {profile} profile: (T^min, T^max) in {list(grids.T)}."),
        Table("table8", "COCO val (ours: the sparse multi-class synthetic preset in smoke/tiny)", "coco",
              METRICS_COCO, ("model",),
              tuple(Row(v, Train("coco", v)) for v in grids.table8_variants), quoted),
    )}


FIGURE4 = Figure(
    "figure4", "AP per epoch, baseline vs DSLA (+FS)",
    tuple((d, (Train(d, "baseline"), Train(d, "dsla_fs"))) for d in DATASETS),
    "Validation AP after every epoch (mean over seeds). Dashed: the baseline's final AP; circle: the first "
    "epoch DSLA + FS reaches it (the convergence claim: epochs saved, per seed); square: the epoch a curve "
    "flattens (stays within 1 AP of its final AP), the paper's reading (epoch 10 for DSLA vs 14 for the "
    "baseline on CrowdHuman, 17 vs 20 on COCO, of 36); grey: the first learning-rate drop.")

TARGETS = tuple(f"table{i}" for i in range(1, 9)) + ("figure4",)

# Seeds of the runs behind the paper's main claims (Table 4's four variants on the crowd data and
# Figure 4's curves on both datasets) per profile; every other grid point trains one seed (its
# noise is the seed-to-seed spread measured on these runs, see pipeline/report/claims.py).
# `pipeline run --seeds N` overrides the number. One seed is a hint, not a finding: tiny uses 3.
CLAIM_SEEDS = {"smoke": 1, "tiny": 3, "paper": 1}


def _identity(run: Train) -> tuple:
    return run.dataset, run.variant, tuple(sorted(run.overrides().items())), run.cfg


def curve_run(run: Train) -> bool:
    """Whether `run` is validated after every epoch in `pipeline run`: Figure 4's runs and every
    run behind a main claim (`claim_run`), whose verdicts check that the compared runs have
    plateaued (pipeline/report/claims.py). The other runs (one-seed grid points) are validated
    once, after their last epoch: their tables use only that."""
    return claim_run(run)


def claim_run(run: Train) -> bool:
    """Whether `run` is one of the runs behind the main claims (trained with CLAIM_SEEDS seeds).

    Compared by what is trained, so Table 6's `K=6` point is the same run as Table 4's DSLA + FS.
    """
    claims = {_identity(Train("crowdhuman", variant)) for variant in VARIANTS}
    claims |= {_identity(r) for _, runs in FIGURE4.panels for r in runs}
    return _identity(run) in claims


# --- rows of ours: ablations declared as data ----------------------------------------------------
# A rows file (`experiments/ablations.py`, or a user's own given to `pipeline run --tables FILE`) is
# a Python file defining `ROWS = {"table4": [Row(...), ...]}`; `pipeline run --row` adds one row
# from the command line (`parse_row`). Such a row trains with the claim seeds, shows its Δ to the
# baseline, gets the claim "row beats its reference" (and one per challenger), and is `ours` in the
# table's `source` column. See docs/ablations.md.
PACKAGE_ROWS = __file__.rsplit("/", 1)[0] + "/ablations.py"


def with_rows(tables_: dict[str, Table], table: str, rows, where: str = "") -> Table:
    """`tables_[table]` with `rows` appended (marked `added`), checked: one line naming the problem."""
    prefix = f"{where}: " if where else ""
    if table not in tables_:
        raise ValueError(f"{prefix}rows for unknown table {table!r}; expected one of {', '.join(tables_)}")
    spec = tables_[table]
    ids = [row.id for row in spec.rows]
    added = []
    for row in rows:
        if not isinstance(row, Row) or not isinstance(row.source, Train):
            raise ValueError(f"{prefix}{table}: {row!r} is not a Row(id, Train(...))")
        if row.id in ids:
            raise ValueError(f"{prefix}{table} row {row.id!r}: the table already has a row {row.id!r}")
        if row.source.dataset != spec.dataset:
            raise ValueError(f"{prefix}{table} row {row.id!r}: trains on {row.source.dataset!r}, "
                             f"the table's rows on {spec.dataset!r}")
        ids.append(row.id)
        added.append(row if row.added else Row(**{**row.__dict__, "added": True}))
    trained = {r.id for r in spec.rows if isinstance(r.source, Train)} | {r.id for r in added}
    for row in added:
        for other in (row.reference_row(), *(c for c, _ in row.challengers)):
            if other not in trained:
                raise ValueError(f"{prefix}{table} row {row.id!r}: names row {other!r}, which is not a trained row "
                                 f"of {table} ({', '.join(sorted(trained))})")
    return Table(**{**spec.__dict__, "rows": spec.rows + tuple(added)})


def added_rows(table: Table) -> tuple[Row, ...]:
    return tuple(row for row in table.rows if row.added)


def declaration(row: Row) -> dict:
    """A row of ours as plain data (a table stage's parameter, so adding or changing it changes the key)."""
    run = row.source
    return {"id": row.id, "dataset": run.dataset, "variant": run.variant, "knobs": run.knobs(),
            "cfg": run.cfg_options(), "reference": row.reference_row(), "label": row.name(),
            "claim": row.claim, "challengers": [list(c) for c in row.challengers]}


def from_declaration(data: dict) -> Row:
    run = Train(data["dataset"], data["variant"], **data.get("knobs", {}), cfg=data.get("cfg", {}))
    return Row(data["id"], run, reference=data.get("reference"), label=data.get("label", ""),
               claim=data.get("claim", ""), challengers=tuple(tuple(c) for c in data.get("challengers", ())),
               added=True)


def load_rows(path: str) -> dict[str, tuple[Row, ...]]:
    """`ROWS` of a rows file: {table: rows}. Any problem is a ValueError of one line naming the file."""
    import importlib.util
    import traceback
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--tables {path}: no such file")
    file = file.resolve()
    spec = importlib.util.spec_from_file_location(f"dsla_rows_{abs(hash(str(file)))}", file)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a user's file: say where it failed, in one line
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == file]
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else (frames[-1].lineno if frames else None)
        where = f"{path}, line {line}" if line else str(path)
        raise ValueError(f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    rows = getattr(module, "ROWS", None)
    if not isinstance(rows, dict):
        raise ValueError(f"{path}: defines no ROWS = {{table name: [Row(...), ...]}}")
    return {str(table): tuple(table_rows) for table, table_rows in rows.items()}


@lru_cache(maxsize=1)
def package_rows() -> dict[str, tuple[Row, ...]]:
    """The project's own rows of ours (experiments/ablations.py), loaded like a user's file."""
    return load_rows(PACKAGE_ROWS)


def parse_row(text: str, table: Table) -> Row:
    """`NAME=BASE[:KEY=VALUE]...` (`pipeline run --row`) as a row of `table`: BASE a variant, KEYs
    dotted config keys (mmengine `--cfg-options`; a KEY that is a method knob, e.g. K=8, sets the knob)."""
    import re

    head, *options = re.split(r":(?=[A-Za-z_][\w.]*=)", text)
    name, sep, base = head.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.+-]+", name) or not base:
        raise ValueError(f"--row {text!r}: expected NAME=BASE[:KEY=VALUE]..., e.g. "
                         "prior=baseline:model.bbox_head.assigner.type=OneToOneAssigner")
    given, cfg = {}, {}
    for option in options:
        key, _, value = option.partition("=")
        parsed = _parse_value(value)
        if key in knobs.BY_NAME:
            given[key] = parsed
        else:
            cfg[key] = parsed
    try:
        run = Train(table.dataset, base, **given, cfg=cfg)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--row {text!r}: {exc}") from None
    return Row(name, run, label=name)


def _parse_value(text: str):
    """A value as mmengine's `--cfg-options` reads it (numbers, True/False/None, lists `a,b` or `[a,b]`);
    a scalar without importing mmengine (`--dry-run` stays light)."""
    if any(ch in text for ch in ",[]()"):
        from mmengine.config import DictAction
        return DictAction._parse_iterable(text)
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return None if text == "None" else text
