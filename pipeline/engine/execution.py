"""Running and planning nodes (`pipeline.engine.nodes`) against a `ResultStore`.

- `run(targets, store)` orders the targets' closure with `graphlib`, reuses every key that has a
  `done` record in the `ResultStore`, runs the rest (optionally `jobs` at a time in worker
  processes), records failures with their error, keeps running what does not depend on a failure
  and reports its dependents as skipped.
- `plan(targets, store)` says, without running anything, what would run and why.
- Early cut-off (as redun's): a node whose key has no record, but whose stage, code, parameters
  and input *values* equal those of a done record under another key (its upstream was re-keyed,
  ran again and produced the same result: a refactored data generator writing the same bytes),
  reuses that record instead of running (`value_identity`; outcome `cached`, `reused_from` in the
  record). Keys stay as they are; the store indexes done records by their value identity too.

Tracking (MLflow) plugs in as `NodeHooks` (`run(..., tracker=hooks)`): the engine calls them before
and after every execution with what the stage returned (`StageResult`, with the dataclass it
returned) and the inputs it was given, so stages hold no tracking code; the engine itself knows
nothing about MLflow. A stage raising `Stopped` ends `stopped`.
"""
from __future__ import annotations

import json
import os
import signal
import time
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from . import interrupts
from .fingerprint import changed_files
from .nodes import Node, StageContext
from .results import NodeHooks, StageResult, Stopped, result_digest, typed
from .store import DONE, FAILED, INCOMPLETE, MISSING, RUNNING, STOPPED, Record, ResultStore

CACHED, SKIPPED = "cached", "skipped"
BUSY = "busy"  # the status of a "wait" event (another process runs the stage), never a final outcome


@dataclass
class Outcome:
    """What happened to one node in a `run`."""

    node: Node
    status: str  # CACHED, DONE, FAILED, STOPPED or SKIPPED (BUSY only in a "wait" event)
    result: dict | None = None
    error: str | None = None
    seconds: float = 0.0
    run_id: str | None = None  # the id the node hooks gave the execution that made the result (its record's)
    reused_from: str | None = None  # cached by early cut-off: the key whose equal result it took


@dataclass
class RunReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # by key, in completion order

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status == status]

    @property
    def ok(self) -> bool:
        return not any(o.status in (FAILED, STOPPED, SKIPPED) for o in self.outcomes.values())


def closure(targets: Iterable[Node]) -> dict[str, Node]:
    """Every node the targets need, one per key (equal keys are the same work)."""
    nodes: dict[str, Node] = {}
    stack = list(targets)
    while stack:
        node = stack.pop()
        if node.key not in nodes:
            nodes[node.key] = node
            stack.extend(node.inputs.values())
    return nodes


def _graph(nodes: Mapping[str, Node]) -> TopologicalSorter:
    """The dependency graph, built in node-name order with sorted predecessors: its order (and
    with it `status`, `--dry-run` and execution) is the same in every process, whatever
    PYTHONHASHSEED (set iteration would tie-break by string hashes)."""
    ordered = sorted(nodes.items(), key=lambda item: (item[1].name, item[0]))
    return TopologicalSorter({key: sorted({n.key for n in node.inputs.values()}, key=lambda k: (nodes[k].name, k))
                              for key, node in ordered})


def in_order(targets: Iterable[Node]) -> list[Node]:
    """The targets' closure, upstream before downstream."""
    nodes = closure(targets)
    return [nodes[key] for key in _graph(nodes).static_order()]


def result_problem(node: Node, result: Any, where: str = "") -> str | None:
    """Why a recorded result of `node` cannot be used, or None: it is not of its stage's result
    type (a field missing, or one the type does not declare), or its stage's `check` rejects it
    (e.g. the checkpoint it names was truncated since). Valid JSON of the wrong shape is a reason,
    never an exception, prefixed with `where` (e.g. the record's path and ": "); a check's own
    reason says itself what it checked."""
    if not isinstance(result, Mapping):
        return f"{where}the recorded result is not a JSON object"
    if node.stage.result_type is not None:
        try:
            typed(result, node.stage.result_type)
        except TypeError as exc:  # "recorded <Type> lacks 'a', 'b'"
            return f"{where}the {exc}"
    if node.stage.check is None:
        return None
    try:
        return node.stage.check(result)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"lacks {exc}" if isinstance(exc, KeyError) else f"is malformed ({type(exc).__name__}: {exc})"
        return f"{where}the recorded result {what}"


def load_record(node: Node, store: ResultStore) -> Record:
    """The store's record of `node`; a done one that `result_problem` rejects counts as incomplete."""
    record = store.load(node.key)
    if record.status == DONE:
        problem = result_problem(node, record.result, f"{store.result_path(node.key)}: ")
        if problem:
            return Record(INCOMPLETE, {"error": problem})
    return record


def value_identity(node: Node, inputs: Mapping[str, Mapping]) -> str:
    """What a node's result is a function of, by value: stage, code, parameters and the digest of
    each input's recorded values (its key uses the inputs' keys instead). Equal identities under
    two keys mean one result (the early cut-off)."""
    identity = {"stage": node.stage.name, "code": node.stage.code_fingerprint, "params": node.params,
                "inputs": {arg: result_digest(values) for arg, values in sorted(inputs.items())}}
    return result_digest(identity)[:32]


def cut_off(node: Node, inputs: Mapping[str, Mapping], store: ResultStore) -> Record | None:
    """The done record of an equal computation under another key, copied under `node.key`, or None."""
    identity = value_identity(node, inputs)
    other = store.key_for_value(identity)
    if other is None or other == node.key:
        return None
    record = store.load(other)
    if record.status != DONE or result_problem(node, record.result):
        return None
    now = time.time()
    copy = {**node.provenance(), "status": DONE, "result": record.result, "run_id": record.data.get("run_id"),
            "value_id": identity, "reused_from": other, "started": now, "finished": now}
    store.save(node.key, copy)
    return Record(DONE, {**copy, "key": node.key})


def execute(node: Node, inputs: dict[str, dict], store_root: str, work_root: str, tracker: NodeHooks | None = None,
            settings: Mapping[str, Any] | None = None) -> dict:
    """Run one node and record its outcome in the store (also the body of a worker process).

    `tracker` (`NodeHooks`) is told before and after; its `after_node` gets the stage's whole
    `StageResult`, the store keeps its `values`.
    """
    store = ResultStore(store_root)
    key = node.key
    interrupts.install()
    # another process may have started this very stage since the caller looked: wait for it,
    # then take its result, or run the stage here if it did not finish it
    while store.claim(key) is not None:
        record = wait_while_running(node, store, lambda *_: None)
        if record.status == DONE:
            return record.data
    began = time.monotonic()
    hooks = tracker or NodeHooks()
    ctx = StageContext(key=key, node=node.name, work_dir=Path(work_root) / key, settings=dict(settings or {}),
                       input_keys={arg: up.key for arg, up in sorted(node.inputs.items())})
    record: dict[str, Any] = {**node.provenance(), "started": time.time()}
    try:
        ctx.run_id = record["run_id"] = hooks.before_node(node, ctx)
        ctx.watchers = list(hooks.watchers(node, ctx) or [])
        try:
            try:
                arguments = {arg: node.stage.typed_input(arg, value, node.inputs[arg].stage) if arg in node.inputs
                             else value for arg, value in inputs.items()}
                with store.holding(key):  # renews the claim: processes elsewhere see it is alive
                    returned = node.stage.func(ctx, **node.params, **arguments)
            except Exception as exc:  # Ctrl-C that a library re-raised as its own error
                interrupts.reraise_if_interrupted(exc, began)
                raise
            result = StageResult.of(returned, node.stage.name)
            hooks.after_node(node, ctx, result, arguments)
        except Stopped as stop:
            hooks.on_node_stopped(node, ctx, str(stop))
            record.update(status=STOPPED, error=str(stop))
        except BaseException as exc:
            hooks.on_node_error(node, ctx, exc)
            raise
        else:
            record.update(status=DONE, result=result.values, value_id=value_identity(node, inputs))
    except KeyboardInterrupt:  # not a failure: nothing recorded, the stage stays resumable
        store.running_path(key).unlink(missing_ok=True)
        raise
    except Exception as exc:  # recorded, not raised: independent stages go on
        record.update(status=FAILED, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    record["finished"] = time.time()
    store.save(key, record)
    if record["status"] == DONE:
        store.remember_value(record["value_id"], key)
    return record


def run(targets: Iterable[Node], store: ResultStore, *, work_root: str | Path = "work_dirs", jobs: int = 1,
        tracker: Any = None, settings: Mapping[str, Any] | None = None,
        listener: Callable[[str, Node, Outcome | None], None] | None = None) -> RunReport:
    """Bring every target up to date; see the module docstring for the semantics.

    `settings` reach every stage as `ctx.settings`: how to run (launcher, report folder), never
    what to compute — they are not part of any key.

    `listener(event, node, outcome)` is called with event "start" (outcome None), "wait" (outcome
    BUSY, its error naming the process that holds the node; called again every minute while
    waiting) and "finish".

    A node another process is running is waited for, then reused if that process finished it, or
    run here if it failed or died. Ctrl-C (however a library wrapped it) raises KeyboardInterrupt
    out of `run`, recording nothing for the interrupted stage.
    """
    nodes = closure(targets)
    graph = _graph(nodes)
    graph.prepare()
    report = RunReport()
    started_run = time.monotonic()
    notify = listener or (lambda event, node, outcome: None)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) if jobs > 1 else None
    pending: dict[Future, tuple[Node, float]] = {}
    queue: deque[Node] = deque()  # ready to run, waiting for a free worker

    def finish(outcome: Outcome) -> None:
        report.outcomes[outcome.node.key] = outcome
        graph.done(outcome.node.key)
        notify("finish", outcome.node, outcome)

    def from_record(node: Node, record: dict, seconds: float) -> Outcome:
        if "finished" in record:  # time spent running, not waiting for a worker
            seconds = record["finished"] - record["started"]
        if record["status"] == DONE:
            return Outcome(node, DONE, result=record["result"], seconds=seconds, run_id=record.get("run_id"))
        return Outcome(node, STOPPED if record["status"] == STOPPED else FAILED, error=record["error"], seconds=seconds,
                       run_id=record.get("run_id"))

    try:
        while graph.is_active():
            for key in sorted(graph.get_ready(), key=lambda k: (nodes[k].name, k)):
                node = nodes[key]
                blocked = [up for up in node.inputs.values() if report.outcomes[up.key].status not in (DONE, CACHED)]
                if blocked:
                    finish(Outcome(node, SKIPPED, error=f"upstream {blocked[0].name} {report.outcomes[blocked[0].key].status}"))
                    continue
                record = load_record(node, store)
                if record.status == MISSING and node.inputs:  # a new key: maybe an equal computation's result
                    record = cut_off(node, {arg: report.outcomes[up.key].result for arg, up in node.inputs.items()},
                                     store) or record
                if record.status == RUNNING:  # wait for the other process, then use or redo its work
                    record = wait_while_running(node, store, notify)
                if record.status == DONE:
                    finish(Outcome(node, CACHED, result=record.result, run_id=record.data.get("run_id"),
                                   reused_from=record.data.get("reused_from")))
                    continue
                queue.append(node)
            # at most `jobs` stages in the pool at once: a stage is "started" (and shown running)
            # when a worker takes it, not when it becomes ready
            while queue and (pool is None or len(pending) < jobs):
                node = queue.popleft()
                inputs = {arg: report.outcomes[up.key].result for arg, up in node.inputs.items()}
                notify("start", node, None)
                if pool is None:
                    started = time.time()
                    record = execute(node, inputs, str(store.root), str(work_root), tracker, settings)
                    finish(from_record(node, record, time.time() - started))
                else:
                    future = pool.submit(execute, node, inputs, str(store.root), str(work_root), tracker, settings)
                    pending[future] = (node, time.time())
            if pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: pending[f][0].name):
                    node, started = pending.pop(future)
                    seconds = time.time() - started
                    try:
                        record = future.result()
                    except Exception as exc:  # the worker process itself died
                        interrupts.reraise_if_interrupted(exc, started_run)
                        record = {"status": FAILED, "error": f"worker process failed: {type(exc).__name__}: {exc}"}
                    finish(from_record(node, record, seconds))
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the workers stop too (they resume later), none left orphaned
        if pool is not None:
            _interrupt_workers(pool)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return report


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Send SIGINT to the pool's worker processes: a stage running there stops as on Ctrl-C
    (nothing recorded, its launched srun/torchrun terminated, its training resumable). A SIGTERM
    reaches only the main process, and Ctrl-C in a terminal reaches them already (harmless twice)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
        except (OSError, ValueError):
            pass


def wait_while_running(node: Node, store: ResultStore, notify: Callable, poll: float = 1.0,
                       remind: float = 60.0) -> Record:
    """Block while another live process holds `node`; return its record afterwards."""
    last_notice = None
    while True:
        record = load_record(node, store)
        if record.status != RUNNING:
            return record
        if last_notice is None or time.monotonic() - last_notice >= remind:
            holder = record.data.get("pid", "?")
            notify("wait", node, Outcome(node, BUSY, error=f"waiting for {node.name}, held by pid {holder}"))
            last_notice = time.monotonic()
        time.sleep(poll)


@dataclass(frozen=True)
class PlanItem:
    node: Node
    action: str  # "reuse" or "run" or "wait" (running elsewhere)
    reason: str


def plan(targets: Iterable[Node], store: ResultStore) -> list[PlanItem]:
    """In execution order: what `run` would do with each node, and why."""
    items = []
    for node in in_order(targets):
        record = load_record(node, store)
        if record.status == DONE:
            items.append(PlanItem(node, "reuse", "cached"))
        elif record.status == RUNNING:
            items.append(PlanItem(node, "wait", "running in another pipeline process"))
        elif record.status == FAILED:
            items.append(PlanItem(node, "run", f"failed before: {record.error}"))
        elif record.status == STOPPED:
            items.append(PlanItem(node, "run", f"stopped before: {record.error}"))
        elif record.status == INCOMPLETE:
            items.append(PlanItem(node, "run", f"incomplete result ({record.error}); running again"))
        else:
            items.append(PlanItem(node, "run", _why_new_key(node, store.last_run_of(node.name))))
    return items


def _why_new_key(node: Node, last: dict | None) -> str:
    old_profile, profile = (last or {}).get("params", {}).get("profile"), node.params.get("profile")
    if last is None or old_profile != profile:  # the node's name was last run in another profile
        return "missing: never run" + (f" in profile {profile} (last run in {old_profile})" if last else "")
    if last["key"] == node.key:
        return "missing: its result was deleted"
    reasons = []
    changed_code = changed_files(last.get("code"), node.stage.sources)
    if changed_code:
        shown = ", ".join(changed_code[:4]) + (f" and {len(changed_code) - 4} more" if len(changed_code) > 4 else "")
        reasons.append(f"code changed: {shown}")
    changed = _diff(_flatten(last.get("params", {})), _flatten(json.loads(json.dumps(node.params))))
    if changed:
        reasons.append("param changed: " + ", ".join(changed))
    inputs = {arg: up.key for arg, up in node.inputs.items()}
    moved = sorted(arg for arg in set(inputs) | set(last.get("inputs", {})) if inputs.get(arg) != last.get("inputs", {}).get(arg))
    if moved:
        reasons.append("upstream changed: " + ", ".join(moved))
    return "; ".join(reasons) or "missing"


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for k, v in value.items():
            flat.update(_flatten(v, f"{prefix}{k}."))
        return flat
    return {prefix[:-1]: value}


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{k} {old.get(k, '<unset>')!r} -> {new.get(k, '<unset>')!r}"
            for k in sorted(set(old) | set(new)) if old.get(k, object()) != new.get(k, object())]
