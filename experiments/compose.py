"""A training's mmengine config, composed from three layers instead of one file per combination.

    profile  experiments/configs/_base_/profiles/<profile>.py    model, schedule, runtime; and
             `dataset_layers`: which dataset file each dataset name reads in this profile
    dataset  experiments/configs/_base_/datasets/<file>.py       data pipeline and loaders, and the
             few model / optimiser settings that belong to the data (classes, detections per image)
    variant  `VARIANTS` below                                    what a method variant adds

`load("tiny/dsla_fs_crowdhuman")` (the name the per-profile files had) returns the Config; a path
to a config file loads that file. A fourth profile is one profile file (plus its data and grids in
`pipeline/profiles.py` and `experiments/tables.py`); a new dataset is one dataset file named in
each profile's `dataset_layers`.

A row's overrides (`apply_overrides`) are mmengine `--cfg-options`: dotted keys merged into the
config, a dict value merged key by key. One rule on top, so that choosing another class is one
override: **setting a `type` to a different type replaces the dict that holds it** (the old
type's arguments go; the arguments given beside the new type stay). `_delete_=True` in a dict
value replaces a dict without changing its type. `check_overrides` refuses a key the base config
does not have, in one line naming it.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent / "configs"
BASE = ROOT / "_base_"
PROFILE_DIR = BASE / "profiles"
DSLA_PART = BASE / "variants" / "dsla.py"

# variant -> the parts it adds to the profile's baseline (OneNet): Feature Shuffle after the FPN
# (the profile's model file says which, `feature_shuffle`), the SLA branch (`_base_/variants/dsla.py`)
VARIANTS = {"baseline": (), "fs": ("fs",), "dsla": ("dsla",), "dsla_fs": ("fs", "dsla")}
DATASET_LAYERS_KEY = "dataset_layers"
NAME = re.compile(r"(?:experiments/configs/)?(?P<profile>[a-z0-9_]+)/(?P<variant>[a-z0-9_]+?)_(?P<dataset>[a-z0-9]+)(?:\.py)?")


def profiles() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PROFILE_DIR.glob("*.py")))


def name(profile: str, variant: str, dataset: str) -> str:
    return f"{profile}/{variant}_{dataset}"


def parse(config: str) -> tuple[str, str, str] | None:
    """(profile, variant, dataset) of a composed config's name, None for anything else. The
    former file paths (`experiments/configs/tiny/dsla_crowdhuman.py`, also absolute) name it too."""
    text = str(config)
    if Path(text).is_absolute():
        try:
            text = Path(text).resolve().relative_to(ROOT).as_posix()
        except ValueError:
            return None
    match = NAME.fullmatch(text)
    if not match or match["profile"] not in profiles() or match["variant"] not in VARIANTS:
        return None
    return match["profile"], match["variant"], match["dataset"]


def _fromfile(path: Path, import_custom_modules: bool):
    from mmengine.config import Config
    return Config.fromfile(str(path), import_custom_modules=import_custom_modules)


def _dataset_file(profile: str, dataset: str) -> Path:
    text = (PROFILE_DIR / f"{profile}.py").read_text()
    match = re.search(rf"{DATASET_LAYERS_KEY}\s*=\s*dict\((.*?)\)", text, re.S)
    layers = dict(re.findall(r"(\w+)\s*=\s*'([^']+)'", match.group(1))) if match else {}
    if dataset not in layers:
        raise ValueError(f"profile {profile!r} has no dataset {dataset!r} "
                         f"({PROFILE_DIR / f'{profile}.py'}: {DATASET_LAYERS_KEY} names {sorted(layers)})")
    return (PROFILE_DIR / layers[dataset]).resolve()


def files(config: str) -> list[Path]:
    """The files a config is made of: the layers' files for a composed name (their `_base_` files
    are followed by `pipeline.digest.config_digest`), else the file itself."""
    parsed = parse(config)
    if parsed is None:
        return [Path(config)]
    profile, variant, dataset = parsed
    return [PROFILE_DIR / f"{profile}.py", _dataset_file(profile, dataset)] + \
        ([DSLA_PART] if "dsla" in VARIANTS[variant] else [])


def compose(profile: str, variant: str, dataset: str, *, import_custom_modules: bool = True):
    """The Config of `variant` on `dataset` in `profile` (see the module docstring)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    if not (PROFILE_DIR / f"{profile}.py").is_file():
        raise ValueError(f"unknown profile {profile!r}; expected one of {profiles()}")
    data_file = _dataset_file(profile, dataset)
    cfg = _fromfile(PROFILE_DIR / f"{profile}.py", False)
    cfg.pop(DATASET_LAYERS_KEY)
    data = _fromfile(data_file, import_custom_modules)
    cfg.merge_from_dict(data.to_dict())
    parts = VARIANTS[variant]
    if "fs" in parts:
        cfg.model.neck = [cfg.model.neck, copy.deepcopy(cfg.feature_shuffle)]
    if "dsla" in parts:
        part = _fromfile(DSLA_PART, False).to_dict()
        cfg.merge_from_dict(part)
        cfg.merge_from_dict({"model.bbox_head": copy.deepcopy(part["dsla_head"])})
    return cfg


# --- the same configs as plain dicts, without mmengine -------------------------------------------
# `pipeline run --dry-run` and `status` must not import mmengine (torch & co: seconds per command,
# tests/pipeline/test_cli_startup.py), yet check a row's overrides against its config before
# anything trains. The project's layer files are plain Python (dicts, lists, `_base_`, `_delete_`,
# `{{$ENV:default}}`), so this reads them as mmengine does; tests/pipeline/test_compose.py holds both
# readers to the same resolved dict for every training.
_ENV = re.compile(r"\{\{\s*\$(\w+)\s*:?\s*(.*?)\s*\}\}")


def _merge(new: dict, old: dict) -> dict:
    """mmengine's merge of `new` into `old`: dicts key by key, `_delete_=True` replaces."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not value.get("_delete_"):
            merged[key] = _merge(value, merged[key])
        else:
            merged[key] = _strip_delete(value)
    return merged


def _strip_delete(value):
    if isinstance(value, dict):
        return {k: _strip_delete(v) for k, v in value.items() if k != "_delete_"}
    return value


def plain_file(path: Path) -> dict:
    """A config file (and its `_base_` files) as a plain dict, read without mmengine."""
    import os

    text = _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2)), path.read_text())
    if any("{{" in line for line in text.splitlines() if not line.lstrip().startswith("#")):
        raise ValueError(f"{path}: uses {{{{_base_.…}}}} references, which only mmengine reads")
    namespace: dict = {}
    exec(compile(text, str(path), "exec"), namespace)  # noqa: S102  (the project's own config files)
    bases = namespace.get("_base_", [])
    merged: dict = {}
    for base in [bases] if isinstance(bases, str) else bases:
        merged.update(plain_file((path.parent / base).resolve()))  # bases hold disjoint keys (mmengine's rule)
    own = {k: v for k, v in namespace.items() if not k.startswith("_") and not callable(v)
           and type(v).__name__ != "module"}
    return _merge(own, merged)


def plain(profile: str, variant: str, dataset: str) -> dict:
    """`compose(profile, variant, dataset).to_dict()`, without mmengine (see above)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    if not (PROFILE_DIR / f"{profile}.py").is_file():
        raise ValueError(f"unknown profile {profile!r}; expected one of {profiles()}")
    cfg = plain_file(PROFILE_DIR / f"{profile}.py")
    cfg.pop(DATASET_LAYERS_KEY)
    cfg = _merge(plain_file(_dataset_file(profile, dataset)), cfg)
    parts = VARIANTS[variant]
    if "fs" in parts:
        cfg["model"] = {**cfg["model"], "neck": [cfg["model"]["neck"], copy.deepcopy(cfg["feature_shuffle"])]}
    if "dsla" in parts:
        part = plain_file(DSLA_PART)
        cfg = _merge(part, cfg)
        cfg = _merge({"model": {"bbox_head": copy.deepcopy(part["dsla_head"])}}, cfg)
    return cfg


def load(config: str | Path, *, import_custom_modules: bool = True):
    """A composed config by name (`tiny/dsla_crowdhuman`), or any config file by path."""
    parsed = parse(str(config))
    if parsed is not None and not Path(config).is_file():
        return compose(*parsed, import_custom_modules=import_custom_modules)
    path = Path(config)
    if not path.is_absolute() and not path.is_file():
        path = ROOT.parent.parent / path
    if not path.is_file():
        raise FileNotFoundError(f"config {config} does not exist (a project config is named "
                                f"<profile>/<variant>_<dataset>, e.g. tiny/dsla_crowdhuman)")
    return _fromfile(path, import_custom_modules)


# --- overrides ------------------------------------------------------------------------------

def canonical(value: Any, where: str) -> str:
    """An override value as canonical JSON (its identity in keys); a value JSON cannot hold is an error."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: value {value!r} is not plain data (numbers, text, lists, dicts): {exc}") from None


def flatten(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides with every dict value spread into dotted keys (`{"a": {"b": 1}}` -> `{"a.b": 1}`): the
    same merge, one spelling (so `a.type=X a.c=1` and `a=dict(type=X, c=1)` are one run, one key)."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if isinstance(value, Mapping) and value:
            for sub_key, sub_value in flatten({str(k): v for k, v in value.items()}).items():
                flat[f"{key}.{sub_key}"] = sub_value
        else:
            flat[str(key)] = value
    return flat


def _nested(overrides: Mapping[str, Any]) -> dict:
    tree: dict = {}
    for key, value in overrides.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {key}: {part} is set to a value and used as a dict")
        node[parts[-1]] = copy.deepcopy(value)
    return tree


def _mark_type_changes(tree: dict, base) -> None:
    """Add `_delete_=True` where the override sets a `type` other than the base's (see the module docstring)."""
    if not hasattr(base, "get"):
        return
    if "type" in tree and hasattr(base, "get") and base.get("type") not in (None, tree["type"]):
        tree.setdefault("_delete_", True)
    for key, value in tree.items():
        if isinstance(value, dict) and not value.get("_delete_") and hasattr(base, "get") and key in base:
            _mark_type_changes(value, base[key])


def check_overrides(cfg, overrides: Mapping[str, Any], where: str) -> None:
    """A ValueError naming the first override whose key the config `cfg` does not have.

    A key is known when every part of it exists in `cfg`, or it lies inside a dict the override
    replaces (a new `type`, or `_delete_=True`): then its arguments are the override's to give.
    """
    tree = _nested(overrides)
    _mark_type_changes(tree, cfg)

    def walk(node: dict, base, path: str) -> None:
        for key, value in node.items():
            if key == "_delete_":
                continue
            dotted = f"{path}.{key}" if path else key
            if isinstance(base, (list, tuple)) and key.isdigit() and int(key) < len(base):
                child = base[int(key)]
            elif hasattr(base, "get") and key in base:
                child = base[key]
            else:
                known = ", ".join(sorted(base)) if hasattr(base, "keys") else type(base).__name__
                raise ValueError(f"{where}: unknown config key {dotted!r} (the config's {path or 'top level'} "
                                 f"has: {known})")
            if isinstance(value, dict) and not value.get("_delete_"):
                walk(value, child, dotted)

    walk(tree, cfg, "")


def apply_overrides(cfg, overrides: Mapping[str, Any]) -> None:
    """Merge a row's overrides into `cfg` (mmengine's `merge_from_dict`, plus the `type` rule)."""
    if not overrides:
        return
    tree = _nested(overrides)
    _mark_type_changes(tree, cfg)
    cfg.merge_from_dict(tree, allow_list_keys=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m experiments.compose tiny/dsla_crowdhuman [--out FILE]`: a composed config as one
    plain mmengine file (for tools that read a file, e.g. `python -m dsla.analysis.complexity FILE`)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m experiments.compose", description=main.__doc__)
    parser.add_argument("config", help="<profile>/<variant>_<dataset>, e.g. paper/dsla_fs_crowdhuman")
    parser.add_argument("--out", help="write it here (default: print it)")
    args = parser.parse_args(argv)
    try:
        cfg = load(args.config, import_custom_modules=False)
    except (ValueError, FileNotFoundError) as exc:
        print(f"python -m experiments.compose: {exc}", file=sys.stderr)
        return 2
    if args.out:
        cfg.dump(args.out)
    else:
        print(cfg.pretty_text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
