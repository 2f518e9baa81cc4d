"""Stage keys hash what produces the number, checked on copies of the repository.

- editing a stage module's code changes that stage's key and its dependents' (and `--dry-run`
  names the file), and nothing upstream;
- editing a table's spec in experiments/tables.py re-keys the tables, not the trainings;
- editing code that only watches a run (tracking, console output, pruning) or says how it runs
  (launchers, the launched worker) changes no key;
- a comment or docstring edit in any file of dsla/, pipeline/ or experiments/ changes no key;
- an edit that changes a number in dsla/models/ re-keys the trainings and what depends on them,
  and the complexity stages (which build the same model), nothing else; code of `dsla` that no
  training uses (benchmark helpers, visualisation) re-keys nothing;
- two clones of one commit at different paths plan identical keys for the same command.

Each command runs in a fresh interpreter on the copy (no torch is imported: keys come from files).
"""
from __future__ import annotations

import ast
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

# `{node: [key, [upstream node names]]}` of a target's nodes
GRAPH = """
import json, sys
from pipeline.engine import in_order
from pipeline.graph import Pipeline
nodes = in_order([Pipeline(sys.argv[1]).target(sys.argv[2])])
print(json.dumps({n.name: [n.key, sorted(i.name for i in n.inputs.values())] for n in nodes}))
"""

# Records every node of a target as done (what a finished run leaves in the store), with a
# checkpoint the train stage's result check accepts and the keys the other stages' checks require.
RECORD_ALL = """
import dataclasses, sys, time, zipfile
from pathlib import Path
from pipeline.engine import DONE, ResultStore, in_order
from pipeline.graph import Pipeline
checkpoint = Path("epoch_1.pth").resolve()
zipfile.ZipFile(checkpoint, "w").close()
store = ResultStore(".pipeline")
for node in in_order([Pipeline(sys.argv[1]).target(sys.argv[2])]):
    result = {field.name: {} for field in dataclasses.fields(node.stage.result_type)}  # every field of its type
    result.update(checkpoint=str(checkpoint)) if "checkpoint" in result else None
    store.save(node.key, {**node.provenance(), "status": DONE, "result": result,
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
    append(repo / "dsla/models/losses/soft_label_bce_loss.py", "\nAN_EDIT = 1\n")
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
                                    "pipeline/runtime/progress.py", "pipeline/runtime/console.py",
                                    "pipeline/sweeps/pruning_hook.py", "pipeline/runtime/launch.py",
                                    "pipeline/runtime/train_worker.py", "dsla/evaluation/random_crowd.py",
                                    "dsla/datasets/visualize.py"])
def test_editing_watch_only_how_or_unused_code_changes_no_key(repo, module):
    before = keys(repo, "reproduce-tables")
    append(repo / module, "\ndef an_edit():\n    return 'only watches'\n")
    assert keys(repo, "reproduce-tables") == before


def test_two_clones_at_different_paths_plan_identical_keys(tmp_path):
    one = clone(tmp_path / "one")
    two = clone(tmp_path / "somewhere" / "else" / "two")
    for profile in ("smoke", "tiny"):
        assert keys(one, "reproduce-tables", profile) == keys(two, "reproduce-tables", profile)


def _docstrings(tree: ast.AST) -> list[ast.Constant]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.append(first.value)
    return found


def edit_comments_and_docstrings(path: Path) -> bool:
    """Rewords every docstring of `path` (adds a module docstring where there is none) and adds
    comments; returns whether the file was a Python source that parses."""
    source = path.read_text()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    lines = source.splitlines(keepends=True)
    docs = _docstrings(tree)
    for doc in sorted(docs, key=lambda d: (d.lineno, d.col_offset), reverse=True):
        line = lines[doc.lineno - 1].encode()
        start = doc.col_offset
        while line[start:start + 1] in (b"r", b"R", b"u", b"U"):
            start += 1
        quote = 3 if line[start:start + 3] in (b'"""', b"'''") else 1
        cut = start + quote
        lines[doc.lineno - 1] = (line[:cut] + b"Reworded. " + line[cut:]).decode()
    text = "".join(lines)
    if not any(doc is getattr(tree.body[0], "value", None) for doc in docs[:1] if tree.body):
        text = '"""An added module docstring."""\n# an added comment\n' + text
    path.write_text(text + "\n# a comment at the end\n")
    return True


def test_comment_and_docstring_edits_rekey_nothing(repo):
    before = {profile: keys(repo, "reproduce-tables", profile) for profile in ("smoke", "tiny")}
    edited = [path for package in ("dsla", "pipeline", "experiments") for path in sorted((repo / package).rglob("*.py"))
              if edit_comments_and_docstrings(path)]
    assert len(edited) > 100 and repo / "dsla/models/dense_heads/dsla_head.py" in edited
    assert "Reworded. " in (repo / "pipeline/stages/train.py").read_text()
    for profile in ("smoke", "tiny"):
        assert keys(repo, "reproduce-tables", profile) == before[profile]


def downstream(graph: dict, names: set[str]) -> set[str]:
    """`names` and every node that depends on one of them."""
    found = set(names)
    while True:
        more = {name for name, (_, inputs) in graph.items() if found & set(inputs)} - found
        if not more:
            return found
        found |= more


def test_a_number_changed_in_the_models_rekeys_trainings_dependents_and_complexity_only(repo):
    before = json.loads(python(repo, "-c", GRAPH, "smoke", "reproduce-tables"))
    loss = repo / "dsla/models/losses/soft_label_bce_loss.py"
    text = loss.read_text()
    assert "neg_weight: float = 0.75," in text
    loss.write_text(text.replace("neg_weight: float = 0.75,", "neg_weight: float = 0.7,"))
    after = json.loads(python(repo, "-c", GRAPH, "smoke", "reproduce-tables"))
    rekeyed = {name for name in before if before[name][0] != after[name][0]}
    trainings = {name for name in before if name.startswith("train:")}
    complexity = {name for name in before if name.startswith("complexity:")}
    assert trainings and complexity
    expected = downstream(before, trainings | complexity)
    assert rekeyed == expected
    assert {name for name in before if name.startswith("prepare:")} and not rekeyed & {
        name for name in before if name.startswith("prepare:") or name == "table1"}
