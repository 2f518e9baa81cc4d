"""The contract between a stage and the engine: what a stage returns, and how it says it stopped.

A stage returns a `StageResult`: `values` are its result (JSON; recorded in the store and handed to
dependent stages as their input), the rest is what the engine's node hooks log for the execution
(`metrics`, `params`, `tags`, `artifacts`, `children`: MLflow in the pipeline) and never part of
the recorded result. A stage returning a plain dict returns `StageResult(values=that dict)`.
A stage may declare its result as a frozen dataclass (`values` that instance, or the instance
returned alone): the store keeps its fields as JSON and its dependents get the dataclass back
(`Stage.result_type`, checked against their parameter types when the graph is built); the node
hooks get it too (`StageResult.returned`), so a tracker can decide what to log from the type
alone and the stage logs nothing. `values` are canonical JSON (what the store reads back), so a
result handed on fresh equals the same result read from the store, and its digest
(`result_digest`) is what the early cut-off compares.

A stage (or code running inside it, e.g. a training hook) that is stopped on purpose — a pruned
Optuna trial — raises `Stopped`: the engine records the outcome `stopped` with the reason, not
`failed`, and never reuses it as a result.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping


class Stopped(Exception):
    """A stage stopped on purpose before producing its result (e.g. a pruned trial); the message says why."""


@dataclass
class ChildRun:
    """A record that belongs under the execution's own (e.g. one row of a table)."""

    name: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class StageResult:
    values: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, list[str]] = field(default_factory=dict)  # artifact folder ("" = top) -> files
    children: list[ChildRun] = field(default_factory=list)
    description: str = ""  # Markdown describing the execution (e.g. links to the runs it came from)
    inputs: list[dict[str, Any]] = field(default_factory=list)  # datasets it read (the tracker's log_dataset kwargs)
    models: list[dict[str, Any]] = field(default_factory=list)  # models it produced (the tracker's log_checkpoint kwargs)
    returned: Any = None  # the dataclass the stage returned, when it declares one

    @classmethod
    def of(cls, returned: Any, stage: str) -> "StageResult":
        """What a stage function returned, checked: a `StageResult` or a dict of JSON values."""
        if _is_record(returned) and not isinstance(returned, cls):
            returned = cls(values=returned)
        result = cls(values=returned) if isinstance(returned, Mapping) else returned
        if isinstance(result, cls) and _is_record(result.values):
            result.returned = result.values
            result.values = {f.name: getattr(result.values, f.name) for f in dataclasses.fields(result.values)}
        if not isinstance(result, cls) or not isinstance(result.values, Mapping):
            raise TypeError(f"stage {stage!r} returned {type(returned).__name__}, not a StageResult or dict")
        # as the store reads it back (tuples become lists; refuses what JSON cannot hold)
        result.values = json.loads(json.dumps(dict(result.values), sort_keys=True))
        return result


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def typed(values: Mapping[str, Any], result_type: type | None) -> Any:
    """A recorded result as its stage declared it: `result_type(**values)` for a dataclass type
    (the fields it has; unknown recorded fields are an error naming them), else the dict."""
    if result_type is None or values is None:
        return values
    names = {f.name for f in dataclasses.fields(result_type)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise TypeError(f"recorded {result_type.__name__} has fields its type does not declare: {unknown}")
    missing = sorted(f.name for f in dataclasses.fields(result_type) if f.name not in values
                     and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise TypeError(f"recorded {result_type.__name__} lacks {', '.join(map(repr, missing))}")
    return result_type(**values)


def result_digest(values: Mapping[str, Any]) -> str:
    """sha256 of a result's canonical JSON: equal for equal values, whichever run produced them."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class NodeHooks:
    """Called by the engine around every execution of a node, as Kedro's node hooks; the defaults do
    nothing. `before_node` may return a run id (it becomes `ctx.run_id` and is kept in the
    execution's record); `watchers` then says what watches the stage's work while it runs
    (`ctx.watchers`: e.g. a training's metric logger); exactly one of `after_node` (the stage
    returned: its result, with the dataclass it returned, and the inputs it was given, as Kedro's
    `after_node_run`), `on_node_stopped` and `on_node_error` follows. An error raised by
    `after_node` fails the execution."""

    def before_node(self, node, ctx) -> str | None:
        return None

    def watchers(self, node, ctx) -> list[dict[str, Any]]:
        return []

    def after_node(self, node, ctx, result: StageResult, inputs: Mapping[str, Any]) -> None:
        pass

    def on_node_stopped(self, node, ctx, reason: str) -> None:
        pass

    def on_node_error(self, node, ctx, error: BaseException) -> None:
        pass
