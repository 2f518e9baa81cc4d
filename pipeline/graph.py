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
from functools import lru_cache
from pathlib import Path

from experiments import compose, knobs
from experiments import tables as defs

from . import REPO_ROOT, profiles
from .digest import config_digest, data_fingerprint
from .engine import CodeScope, Node, Stage
from .engine.fingerprint import fingerprint
from .stages import complexity, evaluate, figure, prepare, qualitative, report, table, train

# What enters the stage keys as code (see pipeline/README.md, "Keys and caching"): the sources a
# stage's module imports within these packages, found by `CodeScope` and hashed without docstrings
# and comments, except WATCH_ONLY (code that only watches a run: MLflow tracking, progress bars,
# the sweeps' pruning hook) and HOW (how a stage runs: launchers, the launched worker, console
# output), which never change a number, so editing them re-runs nothing.
WATCH_ONLY = ("pipeline.tracking", "pipeline.sweeps.pruning_hook")
HOW = ("pipeline.runtime.launch", "pipeline.runtime.train_worker", "pipeline.runtime.console",
       "pipeline.runtime.progress")
CODE = CodeScope(REPO_ROOT, packages=("dsla", "pipeline", "experiments"), exclude=(*WATCH_ONLY, *HOW))
# The configs the model stages build from: they load `dsla` through mmengine's custom_imports and
# name its classes by registered type, so those classes' modules (and what they import) count;
# the rest of `dsla` (benchmark helpers, visualisation, deployment) does not.
CONFIGS = ("experiments/configs/**/*.py",)

# Each stage's result type is its function's return annotation (`stages/contracts.py`): checked
# against its consumers when a node is built, and a record lacking a field of it is incomplete.
PREPARE = Stage("prepare", prepare.prepare, check=prepare.check_prepared, code=CODE)
# The train stage registers the pipeline's own hooks by name (`HOOK_MODULES`; the progress bar
# drops out by HOW); what watches a training (MLflow, a sweep's pruner) is given by the engine's
# node hooks and settings, never named by the stage.
TRAIN = Stage("train", train.train, check=train.check_result, code=CODE, configs=CONFIGS, also=train.HOOK_MODULES)
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


def config_name(profile: str, variant: str, dataset: str) -> str:
    """The composed config of a variant (`tiny/dsla_crowdhuman`, see experiments/compose.py)."""
    return compose.name(profile, variant, dataset)


def composed_digest(config: str) -> str:
    """`config_digest` of a config name or file: for a composed name, of all its layers' files."""
    parsed = compose.parse(config)
    if parsed is None or Path(config).is_file():
        return config_digest(config)
    return fingerprint({"layers": [config_digest(str(path)) for path in compose.files(config)]}, length=12)


@lru_cache(maxsize=32)
def _base_config(config: str) -> dict:
    """A composed config as row overrides are checked against: a plain dict, read without mmengine
    (`--dry-run` and `status` import no heavy library)."""
    return compose.plain(*compose.parse(config))


class Pipeline:
    """Builds the nodes of one profile: `target(name)` for `pipeline run <name>`."""

    def __init__(self, profile: str = "tiny", *, data_root: str | Path | None = None, seeds: int | None = None,
                 data_dir: str | Path = "data", curves: str = "figure", rows: dict | None = None):
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
        # the paper's tables with the rows of ours: the project's (experiments/ablations.py), then
        # `rows` ({table: [Row]}: a user's --tables file, --row)
        added = {name: list(declared) for name, declared in defs.package_rows().items()}
        for name, declared in (rows or {}).items():
            added.setdefault(name, []).extend(declared)
        self.tables = defs.tables(profile, {name: tuple(declared) for name, declared in added.items()})
        self.added_runs = {row.source for t in self.tables.values() for row in defs.added_rows(t)}
        for name, spec in self.tables.items():  # before anything trains: an unknown key is an error
            for row in defs.added_rows(spec):
                if row.source.cfg:
                    self.check_row_overrides(row.source, f"{name} row {row.id!r}")
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
        config = config_name(self.profile, run.variant, run.dataset)
        overrides = run.overrides()
        options = run.cfg_options()
        if options:
            self.check_row_overrides(run)
        tag = "".join(f",{k}={v}" for k, v in sorted(overrides.items()))
        tag += "".join(f",{k}={v}" for k, v in sorted(options.items()))
        params = {"profile": self.profile, "dataset": run.dataset, "variant": run.variant, "seed": seed,
                  "overrides": overrides, "config": config,
                  # claim runs and added rows validate every epoch: their verdicts check the plateau
                  "val_every_epoch": self.curves == "all" or defs.curve_run(run) or run in self.added_runs,
                  "config_digest": composed_digest(config)}
        if options:  # only then: a run without overrides keeps its key
            params["cfg_options"] = options
        return self._node(("train", run, seed), lambda: Node(
            f"train:{run.dataset}/{run.variant}{tag}/seed{seed}", TRAIN, params,
            inputs={"prepared": self.prepare(run.dataset)}))

    def check_row_overrides(self, run, where: str | None = None) -> None:
        """Refuse (ValueError, one line) a row override whose key the row's base config lacks, or
        that sets a method knob's key (a knob is a `Train` field, so equal runs share one key)."""
        config = config_name(self.profile, run.variant, run.dataset)
        cfg = _base_config(config)
        where = f"{where or f'{run.variant} + overrides on {run.dataset}'} ({config})"
        knob_keys = {k.config_key: k.name for k in knobs.KNOBS}
        for key in run.cfg_options():
            if key in knob_keys:
                raise ValueError(f"{where}: {key} is the method knob {knob_keys[key]}; set it as "
                                 f"{knob_keys[key]}=... in the Train, not as a config override")
        compose.check_overrides(cfg, run.cfg_options(), where)

    def evaluate(self, run, seed: int = 0) -> Node:
        trained = self.train(run, seed)
        return self._node(("evaluate", run, seed), lambda: Node(
            trained.name.replace("train:", "evaluate:", 1), EVALUATE,
            {"profile": self.profile, "dataset": run.dataset},
            inputs={"trained": trained, "prepared": self.prepare(run.dataset)}))

    def complexity(self, spec) -> Node:
        config = config_name(self.profile, spec.variant, spec.dataset)
        return self._node(("complexity", spec), lambda: Node(
            f"complexity:{spec.dataset}/{spec.variant}/{spec.phase}", COMPLEXITY,
            {"profile": self.profile, "dataset": spec.dataset, "variant": spec.variant, "phase": spec.phase,
             "config": config, "config_digest": composed_digest(config)}))

    def row_inputs(self, row) -> dict[str, Node]:
        """The nodes behind one table row: one per seed for trained rows."""
        if isinstance(row.source, defs.Density):
            return {row.id: self.prepare(row.source.dataset)}
        if isinstance(row.source, defs.Complexity):
            return {row.id: self.complexity(row.source)}
        return {f"{row.id}@seed{seed}": self.evaluate(row.source, seed) for seed in range(self.seeds_of(row.source))}

    def seeds_of(self, run) -> int:
        """Seeds a trained row gets: `self.seeds` for the runs behind the main claims, else one."""
        return self.seeds if defs.claim_run(run) or run in self.added_runs else 1

    def table(self, name: str) -> Node:
        table = self.tables[name]
        inputs: dict[str, Node] = {}
        for row in table.rows:
            inputs.update(self.row_inputs(row))
        params = {"profile": self.profile, "table": name, "dataset": table.dataset}
        if any(isinstance(row.source, defs.Train) for row in table.rows):
            params["seeds"] = self.seeds  # only tables of trained rows have seeds (Table 1 and 5 do not)
        if defs.added_rows(table):  # rows of ours: their declarations (a new or changed row, a new key)
            params["added_rows"] = [defs.declaration(row) for row in defs.added_rows(table)]
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


def _pipeline_training(composed: tuple[str, str, str] | None, dataset: str, cfg_options: dict,
                       profile: str | None, data_root: str | None, seed: int) -> Node | None:
    """`Pipeline(profile).train(...)` when the config is the project's config of `profile` for a
    variant (`composed`: its (profile, variant, dataset) name) and the options only set method
    knobs: `pipeline train CONFIG --profile P` is then the same node (same key, same work dir, same
    MLflow run) as the pipeline's, not a second training."""
    if not profile or composed is None:
        return None
    config_profile, variant, config_dataset_ = composed
    if config_profile != profile or config_dataset_ != dataset or variant not in defs.VARIANTS:
        return None
    by_key = {knob.config_key: knob.name for knob in knobs.KNOBS}
    if any(key not in by_key for key in cfg_options):
        return None
    try:
        run = defs.Train(dataset, variant, **{by_key[key]: value for key, value in cfg_options.items()})
    except (TypeError, ValueError):
        return None
    return Pipeline(profile, data_root=data_root).train(run, seed)


def data_line(config: str | Path, cfg=None, profile: str | None = None) -> str:
    """One line saying what a config trains on before it starts: the training annotation file, how
    many images it lists, and, for a config of the smoke or tiny folder, what that profile trains
    on inside the pipeline (its configs alone read the full synthetic sets of `pipeline data synth`)."""
    from mmengine.config import Config

    composed = compose.parse(str(config))  # a project config by name (or its former path)
    if cfg is None:
        cfg = compose.load(compose.name(*composed)) if composed else Config.fromfile(str(config))
    train = (cfg.get("train_dataloader") or {}).get("dataset") or {}
    while train.get("dataset") is not None:
        train = train["dataset"]
    where = Path(train.get("data_root") or ".") / train.get("ann_file", "")
    try:
        if where.suffix == ".odgt":
            with open(where, "rb") as handle:
                images = sum(1 for line in handle if line.strip())
        else:
            import json
            images = len(json.loads(where.read_text())["images"])
        count = f"{images} training images"
    except (OSError, ValueError, KeyError):
        count = "its training images (not readable yet)"
    epochs = (cfg.get("train_cfg") or {}).get("max_epochs")
    line = f"{Path(config).name}: {count} from {where.as_posix()}" + (f", {epochs} epochs" if epochs else "")
    folder = composed[0] if composed else Path(config).resolve().parent.name
    if profile is None and folder in ("smoke", "tiny"):
        synthetic = profiles.SYNTHETIC[folder][config_dataset(cfg)]
        in_profile = synthetic["num_images"] - round(synthetic["num_images"] * synthetic["val_fraction"])
        line += (f" (the {folder} profile of `pipeline run` trains this config on {in_profile} images: "
                 f"`pipeline train {Path(config).as_posix()} --profile {folder}` does the same)")
    return line


def config_training(config: str | Path, *, seed: int = 0, cfg_options: dict | None = None,
                    profile: str | None = None, data_root: str | None = None) -> Node:
    """The train node of any mmdet config (`pipeline train CONFIG`): the project's or a user's own.

    With `profile`, it trains on the data that profile prepares (its prepare node, run first if
    needed); without, on the config's own data roots, whose content digest enters the key. The key
    also covers the config and its `_base_` files, the `--cfg-options`, the seed and the code.
    """
    composed = compose.parse(str(config)) if not Path(config).is_file() else None
    if composed:  # a project config by name: tiny/dsla_crowdhuman (or its old path)
        name = compose.name(*composed)
        cfg = compose.load(name)
        stem, config_param, digest = f"{composed[1]}_{composed[2]}", name, composed_digest(name)
        in_profiles = composed[0]
    else:
        path = Path(config).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"config {config} does not exist (a project config is named "
                                    "<profile>/<variant>_<dataset>, e.g. tiny/dsla_crowdhuman)")
        cfg = compose.load(path)
        stem, digest, in_profiles = path.stem, config_digest(str(path)), None
        config_param = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    knobs.check_config(cfg, str(config))  # the rules `pipeline run` enforces (K >= 1, T^min <= T^max, ...)
    dataset = config_dataset(cfg)
    shared = _pipeline_training(composed, dataset, cfg_options or {}, profile, data_root, seed)
    if shared is not None:  # the very training `pipeline run --profile P` does: one key, one cache
        return shared
    options = "".join(f" {k}={v}" for k, v in sorted((cfg_options or {}).items()))
    params = {"profile": profile or in_profiles or "custom", "dataset": dataset,
              "variant": stem, "seed": seed, "overrides": {}, "config": config_param, "config_digest": digest}
    if cfg_options:
        params["cfg_options"] = dict(sorted(cfg_options.items()))
    inputs = {}
    if profile:
        inputs["prepared"] = Pipeline(profile, data_root=data_root).prepare(dataset)
    else:
        params["data"] = config_data(cfg, str(config))
    return Node(f"train:{stem}{options}/seed{seed}", TRAIN, params, inputs=inputs)

