"""Stage keys hash what produces the number, checked on copies of the repository.

- editing a stage module's code changes that stage's key and its dependents' (and `--dry-run`
  names the file), and nothing upstream;
- editing a table's spec in experiments/tables.py re-keys the tables, not the trainings;
- editing code that only watches a run (tracking, console output, pruning) changes no key;
- two clones of one commit at different paths plan identical keys for the same command.

Each command runs in a fresh interpreter on the copy (no torch is imported: keys come from files).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("dsla", "pipeline", "experiments")

KEYS = """
import json, sys
from pipeline.engine import in_order
from pipeline.graph import Pipeline
print(json.dumps({n.name: n.key for n in in_order([Pipeline(sys.argv[1]).target(sys.argv[2])])}))
"""

# Records every node of a target as done (what a finished run leaves in the store), with a
# checkpoint the train stage's result check accepts and the keys the other stages' checks require.
RECORD_ALL = """
import sys, time, zipfile
from pathlib import Path
from pipeline.engine import DONE, ResultStore, in_order
from pipeline.graph import Pipeline
checkpoint = Path("epoch_1.pth").resolve()
zipfile.ZipFile(checkpoint, "w").close()
store = ResultStore(".pipeline")
for node in in_order([Pipeline(sys.argv[1]).target(sys.argv[2])]):
    store.save(node.key, {**node.provenance(), "status": DONE, "result": {"checkpoint": str(checkpoint), "metrics": {},
                          "rows": {}, "caption": "", "complexity": {}, "panels": {}, "files": []},
                          "started": time.time(), "finished": time.time()})
"""


def clone(dest: Path) -> Path:
    for name in SOURCES:
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def python(repo: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=repo, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin", "HOME": str(repo)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def keys(repo: Path, target: str = "table4", profile: str = "smoke") -> dict[str, str]:
    return json.loads(python(repo, "-c", KEYS, profile, target))


def dry_run(repo: Path, target: str = "table4") -> dict[str, str]:
    """`{node: "<action> <reason>"}` from `pipeline run <target> --profile smoke --dry-run`."""
    out = python(repo, "-m", "pipeline.cli", "run", target, "--profile", "smoke", "--dry-run")
    lines = [line.split(None, 2) for line in out.splitlines() if line.startswith(("run ", "reuse ", "wait "))]
    return {name: f"{action} {reason}" for action, name, reason in lines}


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.fixture
def repo(tmp_path):
    return clone(tmp_path / "clone")


def changed(before: dict, after: dict) -> set[str]:
    assert set(before) == set(after)
    return {name for name in before if before[name] != after[name]}


def test_editing_a_stage_module_rekeys_that_stage_and_its_dependents(repo):
    python(repo, "-c", RECORD_ALL, "smoke", "table4")
    before = keys(repo)
    # (the fake prepare records fail prepare's data check: those would run again, the rest is reused)
    assert all(reason == "reuse cached" for name, reason in dry_run(repo).items() if not name.startswith("prepare:"))

    append(repo / "pipeline/stages/evaluate.py", "\nCOCO_BOX_FORMAT = 'x1y1x2y2'  # an edit\n")
    after = keys(repo)
    evaluations = {name for name in before if name.startswith("evaluate:")}
    assert evaluations and changed(before, after) == evaluations | {"table4"}

    plan = dry_run(repo)
    for name in evaluations:
        assert plan[name] == "run code changed: pipeline/stages/evaluate.py", plan[name]
    assert plan["table4"].startswith("run upstream changed")
    assert all(plan[name] == "reuse cached" for name in before if name.startswith("train:"))


def test_editing_method_code_retrains(repo):
    before = keys(repo)
    append(repo / "dsla/models/losses/soft_label_bce_loss.py", "\n# an edit\n")
    assert {n.split(":")[0] for n in changed(before, keys(repo))} == {"train", "evaluate", "table4"}


def test_editing_a_table_spec_rekeys_tables_not_trainings(repo):
    before = keys(repo)
    tables = repo / "experiments/tables.py"
    text = tables.read_text()
    table4 = text.index('Table("table4"')
    edited = text[:table4] + text[table4:].replace('("AP", "MR2", "Recall")', '("AP", "Recall")', 1)
    assert edited != text
    tables.write_text(edited)
    assert changed(before, keys(repo)) == {"table4"}


@pytest.mark.parametrize("module", ["pipeline/tracking/tracker.py", "pipeline/tracking/mlflow_hook.py",
                                    "pipeline/tracking/progress.py", "pipeline/runtime/console.py",
                                    "pipeline/sweeps/pruning_hook.py"])
def test_editing_watch_only_code_changes_no_key(repo, module):
    before = keys(repo, "reproduce-tables")
    append(repo / module, "\ndef an_edit():\n    return 'only watches'\n")
    assert keys(repo, "reproduce-tables") == before


def test_two_clones_at_different_paths_plan_identical_keys(tmp_path):
    one = clone(tmp_path / "one")
    two = clone(tmp_path / "somewhere" / "else" / "two")
    for profile in ("smoke", "tiny"):
        assert keys(one, "reproduce-tables", profile) == keys(two, "reproduce-tables", profile)
