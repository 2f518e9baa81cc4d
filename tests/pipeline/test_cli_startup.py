"""`pipeline --help`, `status` and `--dry-run` start without importing torch, mmdet or other heavy
libraries (importing them took ~15 s per command); each command runs in a fresh interpreter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "mmdet", "mmengine", "mmcv", "PIL", "dsla", "mlflow", "optuna", "pandas", "matplotlib")

PROBE = """
import contextlib, io, json, sys
from pipeline.cli import main
argv = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main(argv)
    except SystemExit as exit:  # --help
        code = exit.code
print(json.dumps({"code": code, "output": out.getvalue(), "heavy": sorted(
    name for name in {m.split('.')[0] for m in sys.modules} if name in %r)}))
""" % (HEAVY,)


def run_cli(argv: list[str], cwd: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["run", "--help"],
    ["status", "--profile", "smoke"],
    ["run", "table4", "--profile", "smoke", "--dry-run"],
    ["run", "reproduce-tables", "--profile", "tiny", "--dry-run"],
    ["run", "table4", "--profile", "tiny", "--dry-run", "--row", "cls1=baseline:model.bbox_head.loss_cls.loss_weight=1.0"],
], ids=["help", "run-help", "status", "dry-run-table4", "dry-run-all", "dry-run-row"])
def test_cli_paths_import_no_heavy_library(argv, tmp_path):
    result = run_cli(argv, tmp_path)
    assert result["code"] == 0
    assert result["heavy"] == [], f"`pipeline {' '.join(argv)}` imported {result['heavy']}"
    if "--dry-run" in argv:
        assert "would run" in result["output"]
    if argv[0] == "status":
        assert "missing" in result["output"]
