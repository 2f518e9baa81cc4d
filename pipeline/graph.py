"""The DAG behind `pipeline run`, declared in one place, apart from the work it wires.

    prepare(dataset) ─► train(run, seed) ─► evaluate(run, seed) ─┐
          │                   └──────────────► figure4 ──────────┤
          └──────────────────────────────► table1 ...            ├─► table2..8 ─► report
                               complexity(variant, phase) ───────┘                 ▲
                                                 evaluate + train ─► qualitative ──┘

`experiments/tables.py` says which runs each table and figure needs; `Pipeline` turns them into
`pipeline.engine.Node`s. Equal runs give equal keys, so a run shared by several tables is one node.
`train_and_evaluate` is the entry point for sweeps: an Optuna trial asks for one train+evaluate
with its parameters and gets the cached result when that point has been run before.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from experiments import tables as defs

from . import REPO_ROOT, profiles
from .digest import config_digest, data_fingerprint
from .engine import CodeScope, Node, Stage
from .stages import complexity, evaluate, figure, prepare, qualitative, report, table, train
from .stages.contracts import Prepared, Trained

# What enters the stage keys as code (see pipeline/README.md, "Keys and caching"): the sources a
# stage's module imports within these packages, found by `CodeScope` and hashed without docstrings
# and comments, except WATCH_ONLY (code that only watches a run: MLflow tracking, progress bars,
# the sweeps' pruning hook) and HOW (how a stage runs: launchers, the launched worker, console
# output), which never change a number, so editing them re-runs nothing.
WATCH_ONLY = ("pipeline.tracking", "pipeline.sweeps.pruning_hook")
HOW = ("pipeline.runtime.launch", "pipeline.runtime.train_worker", "pipeline.runtime.console")
CODE = CodeScope(REPO_ROOT, packages=("dsla", "pipeline", "experiments"), exclude=(*WATCH_ONLY, *HOW))
# The configs the model stages build from: they load `dsla` through mmengine's custom_imports and
# name its classes by registered type, so those classes' modules (and what they import) count;
# the rest of `dsla` (benchmark helpers, visualisation, deployment) does not.
CONFIGS = ("experiments/configs/**/*.py",)

PREPARE = Stage("prepare", prepare.prepare, check=prepare.check_prepared, code=CODE, returns=Prepared)
# The train stage registers the pipeline's hooks by name (`HOOK_MODULES`: the watch-only ones drop
# out by WATCH_ONLY).
TRAIN = Stage("train", train.train, check=train.check_result, code=CODE, configs=CONFIGS, also=train.HOOK_MODULES,
              returns=Trained)
EVALUATE = Stage("evaluate", evaluate.evaluate, code=CODE, configs=CONFIGS)
COMPLEXITY = Stage("complexity", complexity.complexity, code=CODE, configs=CONFIGS)
TABLE = Stage("table", table.make_table, code=CODE)
FIGURE = Stage("figure", figure.figure4, code=CODE)
QUALITATIVE = Stage("qualitative", qualitative.qualitative, code=CODE, configs=CONFIGS)
REPORT = Stage("report", report.report, code=CODE)


def key_path(path: str | Path) -> str:
    """A path as it enters a key: relative to the working directory when inside it (two clones of
    one commit, each run in its own folder, share keys), else absolute (data outside both)."""
    absolute = Path(path).resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_posix()


def config_path(profile: str, variant: str, dataset: str) -> Path:
    return REPO_ROOT / "experiments" / "configs" / profile / f"{variant}_{dataset}.py"


class Pipeline:
    """Builds the nodes of one profile: `target(name)` for `pipeline run <name>`."""

    def __init__(self, profile: str = "tiny", *, data_root: str | Path | None = None, seeds: int | None = None,
                 data_dir: str | Path = "data", curves: str = "figure"):
        if profile not in defs.PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of {defs.PROFILES}")
        if profile == "paper" and data_root is None:
            raise ValueError("profile 'paper' trains on the real datasets: pass --data-root DIR "
                             "(with CrowdHuman/ and coco/ inside, see pipeline/profiles.py)")
        # seeds of the runs behind the main claims (experiments/tables.py CLAIM_SEEDS); grid points: one
        seeds = defs.CLAIM_SEEDS[profile] if seeds is None else seeds
        if seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {seeds}")
        self.profile, self.seeds = profile, seeds
        # which trainings validate after every epoch: "figure" (Figure 4's runs; the others once, at
        # their end: evaluation every epoch costs as much as training on a CPU) or "all" (sweeps:
        # their pruners read every epoch)
        if curves not in ("figure", "all"):
            raise ValueError(f"curves={curves!r}: expected 'figure' or 'all'")
        self.curves = curves
        self.data_root = key_path(data_root) if data_root else None
        self.data_dir = key_path(data_dir)
        self.tables = defs.tables(profile)
        self.figure = defs.FIGURE4
        self._nodes: dict[tuple, Node] = {}

    def _node(self, ident: tuple, make) -> Node:
        if ident not in self._nodes:
            self._nodes[ident] = make()
        return self._nodes[ident]

    # --- stages -----------------------------------------------------------------------------
    def prepare(self, dataset: str) -> Node:
        synthetic = None if self.data_root else profiles.SYNTHETIC[self.profile][dataset]
        root = self.data_root or f"{self.data_dir}/{self.profile}/{profiles.PRESET[dataset]}"
        params = {"profile": self.profile, "dataset": dataset, "data_root": root, "synthetic": synthetic,
                  "curve_images": profiles.CURVE_IMAGES.get(self.profile) if synthetic else None}
        if synthetic is None:  # real data: the key covers its content, not only its path
            folder = Path(root) / profiles.REAL_LAYOUT[dataset][0]
            params["data_fingerprint"] = data_fingerprint(folder, list(profiles.REAL_ANNOTATIONS[dataset]),
                                                          list(profiles.REAL_IMAGES[dataset]))
        return self._node(("prepare", dataset), lambda: Node(f"prepare:{dataset}", PREPARE, params))

    def train(self, run, seed: int = 0) -> Node:
        config = config_path(self.profile, run.variant, run.dataset)
        overrides = run.overrides()
        tag = "".join(f",{k}={v}" for k, v in sorted(overrides.items()))
        return self._node(("train", run, seed), lambda: Node(
            f"train:{run.dataset}/{run.variant}{tag}/seed{seed}", TRAIN,
            {"profile": self.profile, "dataset": run.dataset, "variant": run.variant, "seed": seed,
             "overrides": overrides, "config": str(config.relative_to(REPO_ROOT)),
             "val_every_epoch": self.curves == "all" or defs.curve_run(run),
             "config_digest": config_digest(str(config))},
            inputs={"prepared": self.prepare(run.dataset)}))

    def evaluate(self, run, seed: int = 0) -> Node:
        trained = self.train(run, seed)
        return self._node(("evaluate", run, seed), lambda: Node(
            trained.name.replace("train:", "evaluate:", 1), EVALUATE,
            {"profile": self.profile, "dataset": run.dataset},
            inputs={"trained": trained, "prepared": self.prepare(run.dataset)}))

    def complexity(self, spec) -> Node:
        config = config_path(self.profile, spec.variant, spec.dataset)
        return self._node(("complexity", spec), lambda: Node(
            f"complexity:{spec.dataset}/{spec.variant}/{spec.phase}", COMPLEXITY,
            {"profile": self.profile, "dataset": spec.dataset, "variant": spec.variant, "phase": spec.phase,
             "config": str(config.relative_to(REPO_ROOT)), "config_digest": config_digest(str(config))}))

    def row_inputs(self, row) -> dict[str, Node]:
        """The nodes behind one table row: one per seed for trained rows."""
        if isinstance(row.source, defs.Density):
            return {row.id: self.prepare(row.source.dataset)}
        if isinstance(row.source, defs.Complexity):
            return {row.id: self.complexity(row.source)}
        return {f"{row.id}@seed{seed}": self.evaluate(row.source, seed) for seed in range(self.seeds_of(row.source))}

    def seeds_of(self, run) -> int:
        """Seeds a trained row gets: `self.seeds` for the runs behind the main claims, else one."""
        return self.seeds if defs.claim_run(run) else 1

    def table(self, name: str) -> Node:
        table = self.tables[name]
        inputs: dict[str, Node] = {}
        for row in table.rows:
            inputs.update(self.row_inputs(row))
        params = {"profile": self.profile, "table": name, "dataset": table.dataset}
        if any(isinstance(row.source, defs.Train) for row in table.rows):
            params["seeds"] = self.seeds  # only tables of trained rows have seeds (Table 1 and 5 do not)
        return self._node(("table", name), lambda: Node(f"{name}", TABLE, params, inputs=inputs))

    def figure4(self) -> Node:
        inputs = {f"{run.dataset}/{run.variant}@seed{seed}": self.train(run, seed)
                  for _, runs in self.figure.panels for run in runs for seed in range(self.seeds)}
        return self._node(("figure", self.figure.name), lambda: Node(
            self.figure.name, FIGURE, {"profile": self.profile, "figure": self.figure.name, "dataset": "both"},
            inputs=inputs))

    def qualitative(self) -> Node:
        baseline, dsla = defs.Train("crowdhuman", "baseline"), defs.Train("crowdhuman", "dsla_fs")
        return self._node(("qualitative",), lambda: Node(
            "qualitative", QUALITATIVE, {"profile": self.profile, "dataset": "crowdhuman"},
            inputs={"baseline": self.evaluate(baseline), "dsla": self.evaluate(dsla),
                    "dsla_trained": self.train(dsla), "prepared": self.prepare("crowdhuman")}))

    def report(self) -> Node:
        inputs = {name: self.table(name) for name in self.tables}
        inputs[self.figure.name] = self.figure4()
        inputs["qualitative"] = self.qualitative()
        return self._node(("report",), lambda: Node(
            "report", REPORT, {"profile": self.profile, "dataset": "both", "seeds": self.seeds}, inputs=inputs))

    # --- targets ----------------------------------------------------------------------------
    def targets(self) -> tuple[str, ...]:
        return ("reproduce-tables", *self.tables, self.figure.name)

    def target(self, name: str) -> Node:
        if name == "reproduce-tables":
            return self.report()
        if name in self.tables:
            return self.table(name)
        if name == self.figure.name:
            return self.figure4()
        raise ValueError(f"unknown target {name!r}; expected one of {', '.join(self.targets())}")


def train_and_evaluate(profile: str, run, *, seed: int = 0, store, tracker=None, settings=None,
                       data_root: str | None = None, work_root: str | Path = "work_dirs",
                       curves: str = "all") -> dict:
    """One train + evaluate point, cached like every other (the entry point for Optuna trials).

    `run` is an `experiments/tables.py` `Train`. Returns the evaluate stage's result (its
    `metrics`), or raises RuntimeError with the stage's error. `curves` as in `Pipeline`: "all"
    for a pruned search (its pruner reads every epoch), "figure" for a grid point, which then has
    the key of the same point in a table and shares its cache.
    """
    from .engine import run as run_nodes
    node = Pipeline(profile, data_root=data_root, curves=curves).evaluate(run, seed)
    outcome = run_nodes([node], store, work_root=work_root, tracker=tracker, settings=settings).outcomes[node.key]
    if outcome.result is None:
        raise RuntimeError(f"{node.name}: {outcome.status}: {outcome.error}")
    return outcome.result


def config_dataset(cfg) -> str:
    """"crowdhuman" for a config that reads odgt files (CrowdHuman's layout), else "coco"."""
    dataset = (cfg.get("train_dataloader") or {}).get("dataset") or {}
    while dataset.get("dataset") is not None:  # RepeatDataset & co
        dataset = dataset["dataset"]
    return "crowdhuman" if "Odgt" in str(dataset.get("type", "")) or \
        str(dataset.get("ann_file", "")).endswith(".odgt") else "coco"


def config_data(cfg, config: str) -> dict:
    """The data a config reads with its own data roots: a description and the digest of its
    annotation files and image lists (`data_fingerprint`). A missing annotation file is an error
    saying how to make it."""
    from .stages.train import _dataset_dicts

    digests = []
    for dataset in _dataset_dicts(cfg):
        if "ann_file" not in dataset:
            continue
        root = Path(dataset.get("data_root") or ".")
        if not (root / dataset["ann_file"]).is_file():
            raise FileNotFoundError(
                f"{config} reads {root.as_posix().rstrip('/')}/{dataset['ann_file']}, which does not exist: make it "
                f"with `pipeline data synth` (it writes data/synth_crowd/ and, with --preset sparse, "
                f"data/synth_sparse/ by default), or train on the data a profile prepares with --profile smoke|tiny")
        images = [(dataset.get("data_prefix") or {}).get("img", "")]
        digests.append(data_fingerprint(root, [dataset["ann_file"]], [i for i in images if i]))
    roots = sorted({Path(d["data_root"]).as_posix() for d in _dataset_dicts(cfg) if d.get("data_root")})
    return {"description": f"the config's own data ({', '.join(roots) or 'no data root'})", "roots": roots,
            "digest": hashlib.sha256(",".join(sorted(digests)).encode()).hexdigest()[:16]}


def config_training(config: str | Path, *, seed: int = 0, cfg_options: dict | None = None,
                    profile: str | None = None, data_root: str | None = None) -> Node:
    """The train node of any mmdet config (`pipeline train CONFIG`): the project's or a user's own.

    With `profile`, it trains on the data that profile prepares (its prepare node, run first if
    needed); without, on the config's own data roots, whose content digest enters the key. The key
    also covers the config and its `_base_` files, the `--cfg-options`, the seed and the code.
    """
    from mmengine.config import Config

    path = Path(config).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"config {config} does not exist")
    cfg = Config.fromfile(str(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    dataset = config_dataset(cfg)
    in_profiles = path.parent.parent == REPO_ROOT / "experiments" / "configs" and path.parent.name in defs.PROFILES
    options = "".join(f" {k}={v}" for k, v in sorted((cfg_options or {}).items()))
    params = {"profile": profile or (path.parent.name if in_profiles else "custom"), "dataset": dataset,
              "variant": path.stem, "seed": seed, "overrides": {},
              "config": str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path),
              "config_digest": config_digest(str(path))}
    if cfg_options:
        params["cfg_options"] = dict(sorted(cfg_options.items()))
    inputs = {}
    if profile:
        inputs["prepared"] = Pipeline(profile, data_root=data_root).prepare(dataset)
    else:
        params["data"] = config_data(cfg, str(config))
    return Node(f"train:{path.stem}{options}/seed{seed}", TRAIN, params, inputs=inputs)

