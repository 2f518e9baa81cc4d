"""Fingerprints of what a stage's result depends on besides its parameters: source code and configs.

They enter the stage keys as parameters (`code_digest`, `config_digest`), so editing the method's
code or a config re-runs exactly the stages built from it, and `--dry-run` names the change.
"""
from __future__ import annotations

import ast
import hashlib
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _hash_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path  # a user's own config: absolute
        digest.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@lru_cache(maxsize=None)
def source_digest(*paths: str) -> str:
    """Digest of the Python sources under `paths` (relative to the repository; absent ones skipped)."""
    files: list[Path] = []
    for rel in paths:
        path = REPO_ROOT / rel
        files += sorted(path.rglob("*.py")) if path.is_dir() else ([path] if path.is_file() else [])
    return _hash_files(files)


def _base_files(config: Path) -> list[str]:
    """The `_base_` entries of an mmengine config file, read without executing it."""
    for statement in ast.parse(config.read_text(), filename=str(config)).body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in statement.targets):
            value = ast.literal_eval(statement.value)
            return [value] if isinstance(value, str) else list(value)
    return []


@lru_cache(maxsize=None)
def config_digest(config: str) -> str:
    """Digest of a config file and, transitively, its local `_base_` files.

    Bases inside installed packages (`mmdet::...`) are covered by the package's version instead.
    """
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
    versions = []
    for package in sorted(packages):
        try:
            versions.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package}==?")
    return hashlib.sha256((_hash_files(sorted(files)) + ",".join(versions)).encode()).hexdigest()[:12]


@lru_cache(maxsize=256)
def _file_content_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file's bytes (cached per process by path, size and modification time)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
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
