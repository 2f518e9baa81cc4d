"""The engine's fingerprint helper on a made-up project: which sources a stage's key covers, found
by walking imports, and content fingerprints of file trees. Plain Python, no torch."""
from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from pipeline.engine import CodeScope, Node, ResultStore, Stage, fingerprint, plan, run, tree_digests

PROJECT = {
    "proj/__init__.py": "",
    "proj/stages/__init__.py": "",
    "proj/stages/score.py": """
        from ..maths import scale            # relative, module level
        from proj import watch               # excluded: only watches
        from proj.plugin import registered   # runs plugin/__init__, not what it imports
        import json

        def score(ctx, value):
            from proj.lazy import offset      # lazy import inside the function
            if not value:
                pass
            else:
                try:
                    pass
                finally:
                    import proj.lazy.guarded  # nested in else / finally inside the function
            watch.log(value)
            return {"value": scale.times_two(value) + offset.OFFSET}
        """,
    "proj/maths/__init__.py": "",
    "proj/maths/scale.py": "from . import constants\n\ndef times_two(x):\n    return constants.TWO * x\n",
    "proj/maths/constants.py": "TWO = 2\n",
    "proj/maths/unused.py": "NOT_IMPORTED = 1\n",
    "proj/lazy/__init__.py": "",
    "proj/lazy/offset.py": "OFFSET = 0\n",
    "proj/lazy/guarded.py": "",
    "proj/watch.py": "from proj.maths import unused\n\ndef log(value):\n    pass\n",
    "proj/plugin/__init__.py": "from . import heavy, registered\n",
    "proj/plugin/registered.py": "X = 1\n",
    "proj/plugin/heavy.py": "Y = 1\n",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in [m for m in sys.modules if m == "proj" or m.startswith("proj.")]:
        del sys.modules[module]


def scope(root, exclude=("proj.watch",)):
    return CodeScope(root, packages=("proj",), exclude=exclude)


def test_walk_follows_relative_absolute_and_lazy_imports_with_parent_packages(project):
    """plugin/heavy.py is imported by plugin/__init__.py only: not followed."""
    files = set(scope(project).digests("proj.stages.score"))
    assert files == {"proj/__init__.py", "proj/stages/__init__.py", "proj/stages/score.py",
                     "proj/maths/__init__.py", "proj/maths/scale.py", "proj/maths/constants.py",
                     "proj/lazy/__init__.py", "proj/lazy/offset.py", "proj/lazy/guarded.py", "proj/plugin/__init__.py",
                     "proj/plugin/registered.py"}


def test_excluded_modules_and_what_only_they_import_stay_out(project):
    with_watch = set(scope(project, exclude=()).digests("proj.stages.score"))
    assert {"proj/watch.py", "proj/maths/unused.py"} <= with_watch
    assert not {"proj/watch.py", "proj/maths/unused.py"} & set(scope(project).digests("proj.stages.score"))


def test_also_adds_every_module_of_a_package(project):
    files = set(scope(project).digests("proj.stages.score", also=("proj.plugin",)))
    assert {"proj/plugin/__init__.py", "proj/plugin/registered.py", "proj/plugin/heavy.py"} <= files


def make_stage(project, **kwargs):
    module = importlib.import_module("proj.stages.score")
    return Stage("score", module.score, code=scope(project), **kwargs)


def test_key_changes_with_the_code_the_stage_imports_and_only_that(project):
    key = Node("s", make_stage(project), {"value": 1}).key
    (project / "proj/watch.py").write_text("from proj.maths import unused\n\ndef log(value):\n    print(value)\n")
    (project / "proj/maths/unused.py").write_text("NOT_IMPORTED = 2\n")
    assert Node("s", make_stage(project), {"value": 1}).key == key
    (project / "proj/maths/constants.py").write_text("TWO = 3\n")
    assert Node("s", make_stage(project), {"value": 1}).key != key


def test_dry_run_names_the_changed_file(project, tmp_path):
    store = ResultStore(tmp_path / "store")
    node = Node("s", make_stage(project), {"value": 1})
    assert run([node], store, work_root=tmp_path / "work").ok
    (project / "proj/lazy/offset.py").write_text("OFFSET = 1\n")
    [item] = plan([Node("s", make_stage(project), {"value": 1})], store)
    assert item.action == "run"
    assert item.reason == "code changed: proj/lazy/offset.py"


def test_tree_fingerprint_is_content_not_place(tmp_path):
    for root in ("a", "b"):
        (tmp_path / root / "Images").mkdir(parents=True)
        (tmp_path / root / "ann.odgt").write_text('{"ID": "1"}\n')
        (tmp_path / root / "Images" / "1.jpg").write_bytes(b"\xff\xd8 pixels")
        (tmp_path / root / ".cache").write_text("ignored: hidden")
    a, b = tree_digests(tmp_path / "a"), tree_digests(tmp_path / "b")
    assert set(a) == {"ann.odgt", "Images/1.jpg"}
    assert fingerprint(a) == fingerprint(b)
    assert set(tree_digests(tmp_path / "a", include=("*.odgt",))) == {"ann.odgt"}
    assert set(tree_digests(tmp_path / "a", exclude=("Images/*",))) == {"ann.odgt"}
    (tmp_path / "b" / "Images" / "1.jpg").write_bytes(b"\xff\xd8 other pixels")
    assert fingerprint(tree_digests(tmp_path / "b")) != fingerprint(a)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        tree_digests(tmp_path / "missing")


def test_source_digest_ignores_comments_and_docstrings_not_code(tmp_path):
    from pipeline.engine.fingerprint import source_digest

    path = tmp_path / "m.py"
    path.write_text('"""Doc."""\nimport math\n\n\ndef f(x):\n    """Doc."""\n    return x * 2\n')
    original = source_digest(path)
    path.write_text('"""Other doc."""\n# a comment\nimport math\n\ndef f(x):  # inline\n    """More."""\n'
                    '    return x * 2\n')
    assert source_digest(path) == original
    path.write_text('"""Doc."""\nimport math\n\n\ndef f(x):\n    """Doc."""\n    return x * 3\n')
    assert source_digest(path) != original
