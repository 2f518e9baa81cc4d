"""Fingerprints of the configs a stage reads at run time (its code is covered by the stage's sources,
see `pipeline.graph.CODE`).

`config_digest` enters the train and complexity keys as a parameter, so editing a config (or one
of its `_base_` files) re-runs exactly the stages built from it, and `--dry-run` names the change.
`data_fingerprint` does the same for real data (annotation bytes, image names and sizes): a
parameter of the prepare node.
"""
from __future__ import annotations

import ast
import hashlib
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import REPO_ROOT
from .engine.fingerprint import file_digest, fingerprint, source_digest


def _base_files(config: Path) -> list[str]:
    """The `_base_` entries of an mmengine config file, read without executing it."""
    for statement in ast.parse(config.read_text(), filename=str(config)).body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in statement.targets):
            value = ast.literal_eval(statement.value)
            return [value] if isinstance(value, str) else list(value)
    return []


@lru_cache(maxsize=None)
def config_digest(config: str) -> str:
    """Digest of a config file and, transitively, its local `_base_` files (`source_digest`, with paths
    relative to the repository), plus the versions of the packages of `pkg::` bases."""
    path = Path(config).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"config {config} does not exist")
    files, packages, todo = [], set(), [path]
    while todo:
        current = todo.pop()
        if current in files:
            continue
        files.append(current)
        for base in _base_files(current):
            if "::" in base:
                packages.add(base.split("::")[0])
            else:
                todo.append((current.parent / base).resolve())
    versions = {}
    for package in sorted(packages):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "?"
    # the repository's files by their path in it (two clones share digests); a user's own config by its absolute path
    # (by syntax tree without comments and docstrings, as code: a comment in a config re-runs nothing)
    files_by_name = {(path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)):
                     source_digest(path) for path in files}
    return fingerprint({"files": files_by_name, "packages": versions}, length=12)


@lru_cache(maxsize=256)
def _file_content_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file's bytes (cached per process by path, size and modification time)."""
    return file_digest(path)


def content_digest(root: str | Path, annotations: list[str], image_folders: list[str]) -> str:
    """sha256 of the bytes of every annotation file and every image (by relative path), in order:
    what a training reads, whole (the prepare stage records it once, so a result that names it is
    the same result only for the same pixels; `data_fingerprint` is the cheap check, by sizes)."""
    root = Path(root)
    digest = hashlib.sha256()
    files = sorted(set(annotations)) + sorted(
        str(path.relative_to(root)) for folder in sorted(set(image_folders)) if (root / folder).is_dir()
        for path in (root / folder).rglob("*") if path.is_file())
    for rel in files:
        path = root / rel
        digest.update(f"{rel} {file_digest(str(path)) if path.is_file() else 'missing'}\n".encode())
    return digest.hexdigest()


def data_fingerprint(root: str | Path, annotations: list[str], image_folders: list[str]) -> str:
    """Digest of a dataset's content as prepare reads it: the bytes of every annotation file and
    the image list (file names and sizes) of every image folder, all relative to `root`.

    Editing an annotation, adding, removing or replacing an image changes it; a missing file or
    folder is part of the digest too (as "missing"), so it never raises.
    """
    root = Path(root)
    digest = hashlib.sha256()
    for rel in sorted(set(annotations)):
        path = root / rel
        try:
            stat = path.stat()
            content = _file_content_digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        except OSError:
            content = "missing"
        digest.update(f"annotation {rel} {content}\n".encode())
    for rel in sorted(set(image_folders)):
        try:
            entries = sorted((entry.name, entry.stat().st_size) for entry in os.scandir(root / rel)
                             if entry.is_file())
        except OSError:
            entries = None
        digest.update(f"images {rel} {entries!r}\n".encode())
    return digest.hexdigest()[:16]
