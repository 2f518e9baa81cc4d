"""Write the resolved mmengine config of every smoke, tiny and paper training to a JSON fixture.

    python scripts/dump_resolved_configs.py [--old-files] [OUT]

OUT defaults to tests/pipeline/fixtures/resolved_configs.json, which
tests/pipeline/test_compose.py compares the composed configs (experiments/compose.py) against.
`--old-files` reads the per-profile config files the composer replaced
(experiments/configs/<profile>/<variant>_<dataset>.py, before commit "configs: one layer per
profile, dataset and variant"): that is how the fixture was made. Without it the configs come from
the composer, so after an intended config change this script rewrites the fixture and its diff
shows exactly what changed. `$DSLA_CACHE` is pinned so the dump does not depend on the machine.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINNED_CACHE = "/DSLA_CACHE"
NAMES = [f"{profile}/{variant}_{dataset}" for profile in ("smoke", "tiny", "paper")
         for variant in ("baseline", "fs", "dsla", "dsla_fs") for dataset in ("crowdhuman", "coco")]
EXTRA = {"tiny/baseline_eq2_crowdhuman": "the prior-matched baseline (Table 4 row `prior`)"}


def plain(value):
    """JSON-able: tuples as lists (mmengine keeps both), dict keys as text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def dumps(old_files: bool) -> dict:
    os.environ["DSLA_CACHE"] = PINNED_CACHE
    from mmengine.config import Config
    sys.path.insert(0, str(ROOT))
    out = {}
    for name in NAMES + list(EXTRA):
        if old_files:
            cfg = Config.fromfile(str(ROOT / "experiments" / "configs" / f"{name}.py"), import_custom_modules=False)
        elif name in EXTRA:  # now Table 4's row `prior`: the tiny baseline with the row's overrides
            from experiments import compose, tables
            [prior] = [r for r in tables.package_rows()["table4"] if r.id == "prior"]
            cfg = compose.load("tiny/baseline_crowdhuman", import_custom_modules=False)
            compose.apply_overrides(cfg, prior.source.cfg_options())
        else:
            from experiments import compose
            cfg = compose.load(name, import_custom_modules=False)
        out[name] = plain(cfg.to_dict())
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--old-files"]
    target = Path(args[0]) if args else ROOT / "tests" / "pipeline" / "fixtures" / "resolved_configs.json"
    target.write_text(json.dumps(dumps("--old-files" in sys.argv), indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}")
