"""Stages, nodes and their keys.

- A `Stage` is a named plain function `func(ctx, **params, **inputs) -> StageResult`. With a
  `CodeScope` its `sources` are the project files its module imports, found automatically
  (`pipeline.engine.fingerprint`), plus the modules of the registered types its `configs` name,
  plus every module of the packages named in `also`.
- A `Node` binds a stage to JSON parameters and to upstream nodes (its inputs, by argument name).
  Its key hashes the stage's name, the content of its sources, its parameters and its upstream
  keys: changing a parameter or a source file changes this node's key and the keys of everything
  downstream — and nothing else. There is no hand-kept version number.
- Contracts are checked when a `Node` is built (so at `--dry-run`, before anything runs): its
  parameters and inputs must bind to the stage function's signature, and an input whose producer
  declares its result type (a dataclass: the stage's return annotation, or `Stage(returns=...)`)
  must be of the type the consumer's parameter is annotated with. A violation is one line naming
  the node and the parameter.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import typing
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping

from .fingerprint import CodeScope, fingerprint
from .results import StageResult, typed


@dataclass(frozen=True)
class Stage:
    """A unit of work: `func(ctx, **params, **inputs)` returns a `StageResult` (or a plain dict of its values)."""

    name: str
    func: Callable[..., Any]
    # Whether a recorded result can still be used (e.g. the files it names are intact): None if
    # so, else the reason; a rejected result counts as incomplete and the stage runs again.
    check: Callable[[dict], str | None] | None = None
    # Where the stage's code lives: its module's imports are followed within the scope's packages.
    code: CodeScope | None = None
    # Packages (or modules) used without a visible import, all of whose sources count.
    also: tuple[str, ...] = ()
    # Glob patterns (relative to the scope's root) of the config files the stage builds from: the
    # modules of the registered types they name (`type='DSLAHead'`) count, with what they import.
    configs: tuple[str, ...] = ()
    # The dataclass its result is (when the function's return annotation does not say so itself,
    # e.g. `-> StageResult` with a typed `values`); None: a plain dict of values.
    returns: type | None = None

    @cached_property
    def signature(self) -> inspect.Signature | None:
        try:
            return inspect.signature(self.func)
        except (TypeError, ValueError):
            return None

    @cached_property
    def annotations(self) -> dict[str, Any]:
        """The function's resolved annotations ({} when they cannot be resolved: no type checks)."""
        try:
            return typing.get_type_hints(self.func)
        except Exception:  # noqa: BLE001 - a name only importable when type checking, ...
            return {}

    @cached_property
    def result_type(self) -> type | None:
        """The dataclass this stage's result is, or None (a dict of values)."""
        if self.returns is not None:
            return self.returns
        declared = self.annotations.get("return")
        if isinstance(declared, type) and dataclasses.is_dataclass(declared) and not issubclass(declared, StageResult):
            return declared
        return None

    def wanted_types(self, arg: str) -> tuple[type, ...]:
        """The dataclasses parameter `arg` takes: its annotation (`X`, `X | None`, `X | Y`), or, for an
        input bound to `**inputs`, that parameter's annotation (every value it collects); () when it
        names none (a dict, Any, or no annotation: no type check)."""
        if arg not in self.annotations and self.signature is not None:
            rest = [p.name for p in self.signature.parameters.values() if p.kind == p.VAR_KEYWORD]
            arg = rest[0] if rest and arg not in self.signature.parameters else arg
        wanted = self.annotations.get(arg)
        options = [t for t in typing.get_args(wanted) if t is not type(None)] if typing.get_args(wanted) else [wanted]
        dataclasses_ = tuple(t for t in options if isinstance(t, type) and dataclasses.is_dataclass(t))
        return dataclasses_ if len(dataclasses_) == len(options) else ()

    def typed_input(self, arg: str, values: Any, producer: "Stage") -> Any:
        """An upstream's recorded values as parameter `arg` takes them: the producer's dataclass when
        the parameter is annotated with it, else the dict."""
        produced, wanted = producer.result_type, self.wanted_types(arg)
        return typed(values, produced) if produced and wanted and issubclass(produced, wanted) else values

    def check_binding(self, node: str, params: Mapping[str, Any], inputs: Mapping[str, "Node"]) -> None:
        """Raises TypeError (one line naming `node` and the parameter) when `params` and `inputs`
        do not bind to the function's signature, or an input is not of a type its parameter is
        annotated with (a producer that declares no result type feeds no typed parameter)."""
        if self.signature is not None:
            parameters = list(self.signature.parameters.values())[1:]  # after ctx
            named = [p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            takes = f"stage {self.name!r} takes {', '.join(named) or 'nothing'}"
            if not any(p.kind == p.VAR_KEYWORD for p in parameters):
                unknown = sorted(set(params) - set(named)) + sorted(set(inputs) - set(named))
                if unknown:
                    kind = "parameter" if unknown[0] in params else "input"
                    raise TypeError(f"node {node!r}: unknown {kind} {unknown[0]!r} ({takes})")
            try:
                self.signature.bind(None, **params, **inputs)
            except TypeError as exc:
                raise TypeError(f"node {node!r}: {exc} ({takes})") from None
        for arg, upstream in sorted(inputs.items()):
            produced, wanted = upstream.stage.result_type, self.wanted_types(arg)
            if not wanted or (produced is not None and issubclass(produced, wanted)):
                continue
            expects = " or ".join(t.__name__ for t in wanted)
            what = f"a {produced.__name__}" if produced is not None else "untyped (a dict)"
            raise TypeError(f"node {node!r}: input {arg!r} is {what} (node {upstream.name!r}, "
                            f"stage {upstream.stage.name!r}); stage {self.name!r} expects {expects}")

    @cached_property
    def sources(self) -> dict[str, str]:
        """`{source file relative to the project root: content digest}` this stage's key covers."""
        if self.code is None:
            return {}
        return self.code.digests(self.func.__module__, also=self.also, configs=self.configs)

    @cached_property
    def code_fingerprint(self) -> str:
        return fingerprint(self.sources) if self.sources else ""


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
        stage.check_binding(name, self.params, self.inputs)
        try:
            self._canonical_params = json.dumps(self.params, sort_keys=True)
        except TypeError as exc:
            raise TypeError(f"node {name!r}: parameters must be JSON-serialisable ({exc})") from None

    @cached_property
    def key(self) -> str:
        """sha256 of stage name, its sources' content, parameters and upstream keys (16 hex digits)."""
        identity = {
            "stage": self.stage.name,
            "code": self.stage.code_fingerprint,
            "params": json.loads(self._canonical_params),
            "inputs": {arg: node.key for arg, node in sorted(self.inputs.items())},
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]

    def provenance(self) -> dict[str, Any]:
        """What its record says about how the node was made: name, stage, the digests of its
        sources, parameters and input keys (the store's index keeps it for the dry-run reasons)."""
        return {"node": self.name, "stage": self.stage.name, "code": self.stage.sources, "params": self.params,
                "inputs": {arg: node.key for arg, node in self.inputs.items()}}

    def __repr__(self) -> str:
        return f"Node({self.name!r}, key={self.key})"


@dataclass
class StageContext:
    """What a running stage gets besides its parameters and inputs."""

    key: str
    node: str
    work_dir: Path  # private to this key; created on first use by the stage
    run_id: str | None = None  # the id the node hooks gave this execution (`NodeHooks.before_node`), in its record
    settings: Mapping[str, Any] = field(default_factory=dict)  # how to run (launcher, ...), not what: not in keys
    # The keys of its inputs, by argument: how a reader finds what else was recorded about them
    # (the report's links find an input's MLflow run by its key), never part of a result.
    input_keys: Mapping[str, str] = field(default_factory=dict)
    # What watches the work while it runs, given by the engine's node hooks (`NodeHooks.watchers`;
    # a training: mmengine hook configs, each with the module that registers it): never changes a number.
    watchers: list[dict[str, Any]] = field(default_factory=list)
