"""Stage `train`: one mmdet training run of a composed config (`tiny/dsla_crowdhuman`, experiments/compose.py) or a file.

The config is loaded as written, then only these keys are changed (the contract with the
method's configs): the data roots of every dataloader and evaluator (to the prepared data), the
method knobs of the run (`experiments.knobs`), `randomness.seed`, `work_dir = work_dirs/<key>/`,
validation after every epoch (Figure 4 needs the curve), and hooks: `EpochSeedHook` (each
epoch's randomness from (seed, epoch), so a resumed run equals an uninterrupted one),
`EpochRecordHook` (the per-epoch metrics this stage returns) and `EpochProgressHook` (the epoch
bar). The stage knows no tracker: what watches a training is given to it, as mmengine hook configs
with the module that registers each (`{"module": ..., "hook": {...}}`), by the engine's node hooks
(`ctx.watchers`: the MLflow tracker's `MLflowMetricsHook`, the curves, the loss terms and T_j into
this execution's run) and by `ctx.settings["train_hooks"]` (a sweep's `OptunaPruningHook`). They
only watch or stop a run, never change its result, so they are not part of the key; a training
they stop ends `stopped` (`pipeline.engine.Stopped`).

`resume=True`: a run killed mid-way continues from its last checkpoint at the next `pipeline run`
(its key, hence its work_dir, is the same); truncated checkpoints are deleted first and the
run resumes from the newest intact one (`drop_broken_checkpoints`). A recorded training whose
checkpoint was truncated since runs again (`check_result`, the stage's result check). Launchers:
in-process by default; `torchrun` or Slurm (`ctx.settings["launcher"]`) run
`pipeline.runtime.train_worker` on the dumped config, see `pipeline.runtime.launch`; under Slurm
each training is one job (named after the stage), and a job cancelled mid-training fails the
stage with a message and resumes like a killed run.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from experiments import knobs

from .. import REPO_ROOT
from ..runtime import launch
from ..runtime.console import console_to
from ..runtime.resources import limit_threads
from .contracts import Prepared, Trained

EPOCHS_FILE = "epochs.jsonl"
# The pipeline's own mmengine hooks (registered in mmdet's HOOKS when imported). `dsla` does not
# know them, so the training config names them in `custom_imports` (a launched worker imports them
# while loading the dumped config) and an in-process training imports them here (`register_hooks`);
# a watcher's module is added the same way.
HOOK_MODULES = ("pipeline.runtime.epoch_records", "pipeline.runtime.progress")
CONFIG_FILE = "config.py"


def _dataset_dicts(cfg):
    """Every dataset dict of the train/val/test dataloaders (unwrapping RepeatDataset & co)."""
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        dataset = cfg.get(loader, {}).get("dataset") if cfg.get(loader) else None
        while dataset is not None:
            yield dataset
            dataset = dataset.get("dataset")


def _evaluator_dicts(cfg):
    for name in ("val_evaluator", "test_evaluator"):
        evaluator = cfg.get(name)
        for metric in evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]:
            if metric:
                yield metric


def set_data_root(cfg, data_root: str) -> None:
    """Point every dataset and evaluator of `cfg` at `data_root` (a folder ending in '/')."""
    for dataset in _dataset_dicts(cfg):
        if "data_root" in dataset:
            old = dataset["data_root"]
            dataset["data_root"] = data_root
            for metric in _evaluator_dicts(cfg):
                ann = metric.get("ann_file")
                if isinstance(ann, str) and old and ann.startswith(old):
                    metric["ann_file"] = data_root + ann[len(old):]


def set_curve_annotations(cfg, data_root: str, curve_ann: str) -> None:
    """Validate after each epoch on `curve_ann` (a subset of the validation images, see
    pipeline/profiles.py CURVE_IMAGES); the evaluate stage predicts on the whole set."""
    cfg.val_dataloader.dataset.ann_file = curve_ann
    for metric in [cfg.val_evaluator] if isinstance(cfg.val_evaluator, dict) else list(cfg.val_evaluator):
        if "ann_file" in metric:
            metric["ann_file"] = data_root + curve_ann


def absolute_data_roots(cfg) -> None:
    """The config's own data roots (and its evaluators' annotation files) made absolute, from the
    working directory, so a launched worker (started in the repository) reads the same files."""
    for dataset in _dataset_dicts(cfg):
        root = dataset.get("data_root")
        if isinstance(root, str) and root and not Path(root).is_absolute():
            dataset["data_root"] = str(Path(root).resolve()) + "/"
    for metric in _evaluator_dicts(cfg):
        ann = metric.get("ann_file")
        if isinstance(ann, str) and ann and not Path(ann).is_absolute():
            metric["ann_file"] = str(Path(ann).resolve())


def build_config(*, config: str, data_root: str | None, overrides: dict, seed: int, work_dir: Path,
                 watchers: list[dict] = (), progress: bool = True,
                 val_every_epoch: bool = True, cfg_options: dict | None = None, description: str | None = None):
    """The mmengine Config of one training run (see the module docstring for what changes).

    `data_root=None` keeps the config's own data roots (`pipeline train CONFIG`); `cfg_options`
    are mmdet's `--cfg-options`, merged after the knobs; `watchers`: `{"module", "hook"}` pairs.
    """
    from experiments import compose

    cfg = compose.load(config if compose.parse(config) else REPO_ROOT / config)
    if data_root is not None:
        set_data_root(cfg, data_root)
    else:
        absolute_data_roots(cfg)
    knobs.apply(cfg, overrides, config)
    if cfg_options:  # a table row's overrides, or `pipeline train --cfg-options`
        compose.apply_overrides(cfg, cfg_options)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = str(work_dir)
    cfg.resume = True
    cfg.load_from = None
    # every epoch for curves (Figure 4, sweeps' pruners), else once after the last epoch
    cfg.train_cfg.val_interval = 1 if val_every_epoch else cfg.train_cfg.max_epochs
    hooks = [dict(type="EpochSeedHook"), dict(type="EpochRecordHook", path=str(work_dir / EPOCHS_FILE))]
    if progress:
        hooks.append(dict(type="EpochProgressHook", description=description or work_dir.name))
    # a watcher is `{"module", "hook"}`; a bare hook config names a hook already registered in this
    # process (an in-process training only, e.g. a test's)
    hooks += [dict(watcher["hook"]) if "hook" in watcher else dict(watcher) for watcher in watchers]
    cfg.custom_hooks = list(cfg.get("custom_hooks", [])) + hooks
    imports = list((cfg.get("custom_imports") or {}).get("imports", []))
    cfg.custom_imports = dict(imports=imports + [m for m in hook_modules(watchers) if m not in imports],
                              allow_failed_imports=False)
    return cfg


def hook_modules(watchers: list[dict] = ()) -> list[str]:
    """The modules registering the pipeline's hooks and the watchers' (in order, once each)."""
    return list(dict.fromkeys([*HOOK_MODULES, *(watcher["module"] for watcher in watchers if watcher.get("module"))]))


def register_hooks(watchers: list[dict] = ()) -> None:
    """Register the pipeline's and the watchers' hooks in this process (what `custom_imports` does
    for a worker)."""
    import importlib

    for module in hook_modules(watchers):
        importlib.import_module(module)


def intact_checkpoint(path: Path) -> bool:
    """Whether `path` is a whole torch checkpoint: a zip archive whose central directory, written
    last, is there (a truncated file has lost it). Cheap: reads the archive's index, not the weights."""
    try:
        with zipfile.ZipFile(path):
            return True
    except (OSError, zipfile.BadZipFile):
        return False


def drop_broken_checkpoints(work_dir: Path) -> list[Path]:
    """Delete truncated `epoch_*.pth` files and point `last_checkpoint` at the newest intact one
    (or remove it: training starts over), so `resume=True` never loads a broken file."""
    broken = [path for path in work_dir.glob("epoch_*.pth") if not intact_checkpoint(path)]
    for path in broken:
        path.unlink()
    marker = work_dir / "last_checkpoint"
    if marker.exists() and not Path(marker.read_text().strip()).exists():
        intact = sorted(work_dir.glob("epoch_*.pth"), key=lambda path: int(path.stem.split("_")[1]))
        if intact:
            marker.write_text(str(intact[-1]))
        else:
            marker.unlink()
    return broken


def resume_point(work_dir: Path) -> tuple[int, int | None] | None:
    """`(N, M)` when `work_dir` holds an intact checkpoint of epoch N of an M-epoch schedule (M from
    the dumped config; None if unreadable): a killed training the next run resumes. Cheap: reads
    names and the config's text, no torch."""
    import re

    epochs = [int(m.group(1)) for path in Path(work_dir).glob("epoch_*.pth")
              if (m := re.fullmatch(r"epoch_(\d+)\.pth", path.name)) and intact_checkpoint(path)]
    if not epochs:
        return None
    try:
        text = (Path(work_dir) / CONFIG_FILE).read_text()
        loop = re.search(r"train_cfg\s*=\s*dict\(([^)]*)\)", text)
        found = re.search(r"max_epochs\s*=\s*(\d+)", loop.group(1)) if loop else None
    except OSError:
        found = None
    return max(epochs), int(found.group(1)) if found else None


def check_result(result: dict) -> str | None:
    """Why a recorded training can no longer be used (its checkpoint is gone or truncated), if so."""
    checkpoint = Path(result["checkpoint"])
    if not intact_checkpoint(checkpoint):
        return f"checkpoint {checkpoint} is missing or truncated"
    return None


def last_checkpoint(work_dir: Path) -> Path:
    marker = work_dir / "last_checkpoint"
    if not marker.exists():
        raise FileNotFoundError(f"{work_dir}: training finished without a checkpoint (no last_checkpoint file)")
    return Path(marker.read_text().strip())


def train(ctx, *, profile: str, dataset: str, variant: str, seed: int, overrides: dict, config: str,
          config_digest: str, prepared: Prepared | None = None, val_every_epoch: bool = True,
          cfg_options: dict | None = None, data: dict | None = None) -> Trained:
    """Train; `prepared` (the prepare stage's result) gives the data, or, without it, the
    config's own data roots (`data`: their description and the digest that keys them)."""
    from dsla.engine.safe_checkpoint import use_weights_only_loading
    from dsla.models.backbones import backbone_weights

    from ..runtime.epoch_records import read_epoch_records

    work_dir = Path(ctx.work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    drop_broken_checkpoints(work_dir)
    watchers = [*ctx.watchers, *ctx.settings.get("train_hooks", ())]
    cfg = build_config(config=config, data_root=prepared.data_root if prepared else None, overrides=overrides,
                       seed=seed, work_dir=work_dir, watchers=watchers, progress=ctx.settings.get("progress", True),
                       val_every_epoch=val_every_epoch, cfg_options=cfg_options, description=ctx.node)
    if prepared and prepared.curve_ann != prepared.val_ann:
        set_curve_annotations(cfg, prepared.data_root, prepared.curve_ann)
    # which weights the backbone starts from (a configured file that is missing fails here, in one line)
    weights = backbone_weights(cfg.model.backbone)
    config_file = work_dir / CONFIG_FILE
    cfg.dump(str(config_file))

    launcher = ctx.settings.get("launcher", "none")
    # (the tracker, not this stage, sets MLFLOW_TRACKING_URI and watches system metrics meanwhile)
    if launcher == "none":
        limit_threads(profile)
        use_weights_only_loading()
        register_hooks(watchers)
        from mmengine.runner import Runner
        with console_to(work_dir / "console.log", enabled=ctx.settings.get("quiet", True)):
            Runner.from_cfg(cfg).train()
    else:
        launch.run(launcher, config_file, ctx.settings, log=work_dir / f"launch-{launcher}.log",
                   job_name=ctx.node, cwd=REPO_ROOT)  # raises Stopped when the worker was stopped on purpose

    epochs = read_epoch_records(str(work_dir / EPOCHS_FILE))
    if not epochs:
        raise RuntimeError(f"{work_dir}: training recorded no validation epoch ({EPOCHS_FILE} is empty)")
    checkpoint = last_checkpoint(work_dir)
    return Trained(work_dir=str(work_dir), checkpoint=str(checkpoint), config=str(config_file),
                   epochs=epochs, final=epochs[-1], knobs=knobs.effective(cfg),
                   run={"profile": profile, "dataset": dataset, "variant": variant, "seed": seed, **overrides},
                   data=prepared.description if prepared else (data or {}).get("description", ""), weights=weights)
