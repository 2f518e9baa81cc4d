"""The layers run one way: `dsla` never imports `pipeline`; `pipeline.engine` imports only the
standard library (so it imports, and its tests run, in a bare interpreter)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module `path` imports, anywhere in the file (relative ones resolved)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            else:
                names.add(node.module)
    return names


def test_dsla_never_imports_pipeline():
    offenders = {str(path.relative_to(REPO)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "pipeline")
                 for path in sorted((REPO / "dsla").rglob("*.py"))}
    assert not {path: mods for path, mods in offenders.items() if mods}


def test_engine_imports_only_the_standard_library_and_itself():
    outside = {}
    for path in sorted((REPO / "pipeline" / "engine").rglob("*.py")):
        bad = sorted(m for m in imported_modules(path)
                     if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("pipeline.engine")
                     and m != "__future__")
        if bad:
            outside[str(path.relative_to(REPO))] = bad
    assert not outside


def test_engine_imports_in_a_bare_interpreter():
    """`-S`: no site-packages at all (no torch, mmdet, PIL, numpy); only the repository on the path."""
    done = subprocess.run([sys.executable, "-S", "-c", "import pipeline.engine as e; print(e.Node.__name__)"],
                          cwd=REPO, env={"PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Node"


def project_module_path(name: str) -> Path | None:
    """The file of project module `name` (a module or a package's `__init__.py`), if any."""
    base = REPO.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def test_no_stage_imports_the_tracker_even_through_another_module():
    """What a run logs is the tracker's decision, from the stages' typed results: no module the
    stages import (transitively, within `pipeline`) is `pipeline.tracking`."""
    seen, stack, chains = set(), [], {}
    for path in sorted((REPO / "pipeline" / "stages").glob("*.py")):
        name = "pipeline.stages." + path.stem
        stack.append(name)
        chains[name] = [name]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        path = project_module_path(name)
        if path is None:
            continue
        for imported in sorted(imported_modules(path)):
            if imported.startswith("pipeline") and imported not in seen:
                chains.setdefault(imported, chains[name] + [imported])
                stack.append(imported)
    tracking = sorted(m for m in seen if m == "pipeline.tracking" or m.startswith("pipeline.tracking."))
    assert not tracking, " -> ".join(chains[tracking[0]])
