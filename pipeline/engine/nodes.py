"""Stages, nodes and their keys.

- A `Stage` is a named plain function `func(ctx, **params, **inputs) -> dict`.
- A `Node` binds a stage to JSON parameters and to upstream nodes (its inputs, by argument name).
  Its key hashes the stage's name and version, its parameters and its upstream keys, so changing a
  parameter changes this node's key and the keys of everything downstream — and nothing else.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Stage:
    """A unit of work: `func(ctx, **params, **inputs)` returns a JSON-serialisable dict.

    Bump `version` when the function's meaning changes, so earlier results are not reused.
    """

    name: str
    func: Callable[..., dict]
    version: int = 1
    # Whether a recorded result can still be used (e.g. the files it names are intact): None if
    # so, else the reason; a rejected result counts as incomplete and the stage runs again.
    check: Callable[[dict], str | None] | None = None


class Node:
    """A stage bound to parameters and upstream nodes; `name` is its stable human-readable id."""

    def __init__(self, name: str, stage: Stage, params: Mapping[str, Any] | None = None,
                 inputs: Mapping[str, "Node"] | None = None):
        self.name, self.stage = name, stage
        self.params = dict(params or {})
        self.inputs = dict(inputs or {})
        clash = set(self.params) & set(self.inputs)
        if clash:
            raise ValueError(f"node {name!r}: names used both as parameter and input: {sorted(clash)}")
        try:
            self._canonical_params = json.dumps(self.params, sort_keys=True)
        except TypeError as exc:
            raise TypeError(f"node {name!r}: parameters must be JSON-serialisable ({exc})") from None

    @cached_property
    def key(self) -> str:
        """sha256 of stage name, version, parameters and upstream keys (first 16 hex digits)."""
        identity = {
            "stage": self.stage.name,
            "version": self.stage.version,
            "params": json.loads(self._canonical_params),
            "inputs": {arg: node.key for arg, node in sorted(self.inputs.items())},
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Node({self.name!r}, key={self.key})"


@dataclass
class StageContext:
    """What a running stage gets besides its parameters and inputs."""

    key: str
    node: str
    work_dir: Path  # private to this key; created on first use by the stage
    run_id: str | None = None  # the MLflow run of this execution, when tracked
    tracker: Any = None
    settings: Mapping[str, Any] = field(default_factory=dict)  # how to run (launcher, ...), not what: not in keys
