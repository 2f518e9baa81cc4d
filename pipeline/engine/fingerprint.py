"""Fingerprints: what a stage key hashes besides parameters and upstream keys.

One helper for everything that enters a key by content:
- `file_digests(files, root)`: `{path relative to root: sha256 of the content}`;
- `tree_digests(folder, include, exclude)`: the same for a file tree (e.g. prepared data), with
  paths relative to the tree, so the same data at another place has the same fingerprint;
- `fingerprint(digests)`: one short digest of such a mapping (or of any JSON value);
- `source_digest(path)`: the digest of a Python source's syntax tree without its docstrings and
  comments (a comment or docstring edit changes no key: it cannot change a number);
- `CodeScope`: the source files a module's result depends on, found by walking its imports.

Every path is relative (to the project root, or to the fingerprinted tree), so two clones of one
commit at different places get identical fingerprints.

`CodeScope(root, packages, exclude)` follows imports with `ast` (no module is imported): from a
module, every `import` / `from ... import` anywhere in its source (also inside functions, where
stages import lazily) that names a module of one of `packages` is followed, with the `__init__.py`
of every package on the way (Python runs them on import; what they import in turn is followed only
when imported by the walk itself, or named in `also`). Imports outside `packages` (the standard
library, torch, mmdet, ...) are not followed: installed libraries are pinned by the environment,
not fingerprinted. Modules under a prefix in `exclude` are left out with everything only they
import: that is how code that only watches a run (tracking, progress, console output) stays
outside every key. Dynamic imports (`importlib.import_module`, mmengine's `custom_imports`) are
invisible to the walk. mmengine configs name the project's classes by registered type
(`type='DSLAHead'`), so `modules(..., configs=(...))` also follows, to a fixed point, every class
registered in the packages (`@REGISTRY.register_module()`) whose name is a string in those config
files or in a module already found (a head's default `dict(type='SoftLabelAssigner')`), with
that class's module and its imports. What is still invisible is named with `also=` (a package means
all of its modules).
"""
from __future__ import annotations

import ast
import fnmatch
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's content (read in chunks: data files may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(files: Iterable[str | os.PathLike], root: str | os.PathLike) -> dict[str, str]:
    """`{posix path relative to root: content digest}` of `files` (each must be under `root`)."""
    root = Path(root).resolve()
    return {Path(f).resolve().relative_to(root).as_posix(): file_digest(f) for f in files}


def tree_digests(folder: str | os.PathLike, include: Iterable[str] = ("*",), exclude: Iterable[str] = ()) -> dict[str, str]:
    """Content digests of the files under `folder` whose relative path matches a pattern of `include`
    and none of `exclude` (`fnmatch` patterns on the posix relative path, e.g. `"Images/*.jpg"`,
    `"*.odgt"`); hidden files and folders (`.name`) are skipped.

    `fingerprint(tree_digests(folder))` is the same for the same files wherever `folder` is.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder, cannot fingerprint it")
    include, exclude = tuple(include), tuple(exclude)
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if name.startswith(".") or not any(fnmatch.fnmatch(rel, p) for p in include):
                continue
            if any(fnmatch.fnmatch(rel, p) for p in exclude):
                continue
            files.append(path)
    return file_digests(files, folder)


def _drop_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:]
    return tree


def source_digest(path: str | os.PathLike) -> str:
    """sha256 of a Python source as the interpreter sees it, without docstrings: its syntax tree
    (`ast.dump`, no line numbers) after dropping the docstring of the module and of every class
    and function. Comments, blank lines, formatting and docstrings do not change it; any change
    to what runs does. A file that does not parse is hashed by content."""
    data = Path(path).read_bytes()
    try:
        tree = ast.parse(data, filename=str(path))
    except (SyntaxError, ValueError):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha256(ast.dump(_drop_docstrings(tree)).encode()).hexdigest()


def source_digests(files: Iterable[str | os.PathLike], root: str | os.PathLike) -> dict[str, str]:
    """`file_digests` with `source_digest` for Python files (`.py`), content digests for others."""
    root = Path(root).resolve()
    return {Path(f).resolve().relative_to(root).as_posix():
            source_digest(f) if str(f).endswith(".py") else file_digest(f) for f in files}


def fingerprint(value: Any, length: int = 16) -> str:
    """A short digest of a JSON-serialisable value (e.g. a `file_digests` mapping), independent of key order."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:length]


@lru_cache(maxsize=None)  # per process: modules are not added or removed while keys are computed
def _module_file(root: Path, module: str) -> Path | None:
    """The source file of `module` under `root` (a package's `__init__.py`), or None."""
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _statements(body: list[ast.stmt]):
    """Every statement in `body` and in the bodies nested in it (functions, classes, if/try/with/...):
    imports are statements, so expressions (most of a module's nodes) need not be visited."""
    for statement in body:
        yield statement
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            nested = getattr(statement, name, None)
            if isinstance(nested, list):
                for child in nested:
                    if isinstance(child, (ast.excepthandler, ast.match_case)):
                        yield from _statements(child.body)
                    elif isinstance(child, ast.stmt):
                        yield from _statements([child])


@lru_cache(maxsize=None)
def _imports(path: Path, module: str, mtime_ns: int) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """What `path` (module `module`) imports, anywhere in its source: `(module, None)` for
    `import module`, `(base, names)` for `from base import names` (relative bases resolved)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, tuple[str, ...] | None]] = []
    for node in _statements(ast.parse(path.read_bytes(), filename=str(path)).body):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.append((base, tuple(alias.name for alias in node.names)))
    return tuple(found)


@lru_cache(maxsize=None)
def _names(path: Path, mtime_ns: int) -> tuple[frozenset[str], tuple[str, ...]]:
    """The string constants in `path`'s source, and the names of the classes it registers
    (decorated with `X.register_module(...)`; `name='...'` when given, else the class name)."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    strings, registered = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
        elif isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr == "register_module":
                    names = [k.value.value for k in getattr(decorator, "keywords", ())
                             if k.arg == "name" and isinstance(k.value, ast.Constant)]
                    registered += names or [node.name]
    return frozenset(strings), tuple(registered)


def _file_names(path: Path) -> tuple[frozenset[str], tuple[str, ...]]:
    return _names(path, path.stat().st_mtime_ns)


@dataclass(frozen=True)
class CodeScope:
    """The project's own packages under `root`, whose sources enter the keys of the stages using them."""

    root: Path
    packages: tuple[str, ...]
    exclude: tuple[str, ...] = ()  # module prefixes outside every key (code that only watches a run)

    def excluded(self, module: str) -> bool:
        return any(module == prefix or module.startswith(prefix + ".") for prefix in self.exclude)

    def _in_scope(self, module: str) -> bool:
        return module.split(".")[0] in self.packages and not self.excluded(module)

    def package_modules(self, package: str) -> list[str]:
        """Every module of `package` (recursively), by name."""
        folder = self.root.joinpath(*package.split("."))
        if not folder.is_dir():
            return [package] if _module_file(self.root, package) else []
        names = []
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(self.root).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        return names

    def registered(self) -> dict[str, str]:
        """`{registered type name: module}` of the classes the scope's modules register (sorted
        walk: with two classes of one name, the first module in name order wins)."""
        found: dict[str, str] = {}
        for package in sorted(self.packages):
            for module in self.package_modules(package):
                path = _module_file(self.root, module)
                if path is None or not self._in_scope(module):
                    continue
                try:
                    names = _file_names(path)[1]
                except SyntaxError:
                    continue
                for name in names:
                    found.setdefault(name, module)
        return found

    def config_files(self, patterns: Iterable[str]) -> list[Path]:
        """The files under `root` matching the glob `patterns` (e.g. `experiments/configs/**/*.py`), sorted."""
        return sorted({path for pattern in patterns for path in self.root.glob(pattern) if path.is_file()})

    def modules(self, *start: str, also: Iterable[str] = (), configs: Iterable[str] = ()) -> list[str]:
        """The project modules `start` imports, transitively (with `start` and the packages they
        are in), plus every module of the packages in `also` and what those import, plus (with
        `configs`, glob patterns of config files) the modules of the registered types named in
        those configs or in the modules found, and what they import; excluded ones left out. A
        package's `__init__` counts for its modules, but what it imports in turn counts only when
        imported (or named in `also`): `import dsla.datasets.density` does not make the key
        cover the models `dsla/__init__.py` registers."""
        todo = [m for m in start if self._in_scope(m)]
        for package in also:
            todo += [m for m in self.package_modules(package) if self._in_scope(m)]
        seen: set[str] = set()
        parents: set[str] = set()
        self._walk(todo, seen, parents)
        configs = tuple(configs)
        if configs:
            registry = self.registered()
            named: set[str] = set()
            for path in self.config_files(configs):
                named |= _file_names(path)[0]
            read: set[str] = set()
            while True:
                for module in sorted(seen - read):
                    named |= _file_names(_module_file(self.root, module))[0]
                read |= seen
                new = sorted({registry[name] for name in named if name in registry} - seen)
                if not new:
                    break
                self._walk(new, seen, parents)
        return sorted(seen | {p for p in parents if _module_file(self.root, p)})

    def _walk(self, todo: list[str], seen: set[str], parents: set[str]) -> None:
        """Adds to `seen` the modules of `todo` and what they import (in scope), to `parents` their packages."""
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            path = _module_file(self.root, module)
            if path is None:  # `from package import name` where name is not a module
                continue
            seen.add(module)
            parts = module.split(".")
            parents.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts))) if self._in_scope(p))
            for base, names in _imports(path, module, path.stat().st_mtime_ns):
                # `from package import submodule` runs the package's __init__ (a parent) and the
                # submodule; `from module import name` (or `import module`) uses the module itself.
                submodules = [f"{base}.{n}" for n in names or () if _module_file(self.root, f"{base}.{n}")]
                if names is None or len(submodules) < len(names):
                    submodules.append(base)
                todo += [name for name in submodules if self._in_scope(name)]

    def files(self, *start: str, also: Iterable[str] = (), configs: Iterable[str] = ()) -> list[Path]:
        return [_module_file(self.root, m) for m in self.modules(*start, also=also, configs=configs)]

    def digests(self, *start: str, also: Iterable[str] = (), configs: Iterable[str] = ()) -> dict[str, str]:
        """`{path relative to root: source digest}` of the sources `start` depends on (docstrings
        and comments do not count, see `source_digest`)."""
        return source_digests(self.files(*start, also=also, configs=configs), self.root)


def changed_files(old: Mapping[str, str] | None, new: Mapping[str, str]) -> list[str]:
    """Paths whose digest differs between two `file_digests` mappings (added and removed ones too)."""
    old = old or {}
    return sorted(path for path in set(old) | set(new) if old.get(path) != new.get(path))
