"""The generic DAG engine: stages, nodes and keys, the results store, `run` and `plan`.

It imports nothing of `dsla`, torch, mmdet or PIL (only the standard library), so
`python -c "import pipeline.engine"` works in a bare interpreter and its tests run in seconds.

- `nodes`: `Stage`, `Node` (keys), `StageContext`;
- `results`: `StageResult` (what a stage returns), `Stopped`, `NodeHooks` (tracking plugs in here);
- `store`: `ResultStore`, one atomically written record per key;
- `execution`: `run` (order, cache reuse, early cut-off, failure isolation, worker processes) and `plan` (dry run);
- `fingerprint`: content digests of files and trees, and `CodeScope`, the sources a module imports.
"""
from .execution import (
                        BUSY,
                        CACHED,
                        SKIPPED,
                        Outcome,
                        PlanItem,
                        RunReport,
                        closure,
                        execute,
                        in_order,
                        load_record,
                        plan,
                        result_problem,
                        run,
                        value_identity,
)
from .fingerprint import CodeScope, file_digests, fingerprint, tree_digests
from .nodes import Node, Stage, StageContext
from .results import ChildRun, NodeHooks, StageResult, Stopped
from .store import DONE, FAILED, INCOMPLETE, MISSING, RUNNING, STOPPED, Record, ResultStore, write_json_atomic

__all__ = ["BUSY", "CACHED", "DONE", "FAILED", "INCOMPLETE", "MISSING", "RUNNING", "SKIPPED", "STOPPED", "ChildRun",
           "CodeScope", "Node", "NodeHooks", "Outcome", "PlanItem", "Record", "ResultStore", "RunReport", "Stage",
           "StageContext", "StageResult", "Stopped", "closure", "execute", "file_digests", "fingerprint", "in_order",
           "load_record", "plan", "result_problem", "run", "tree_digests", "value_identity", "write_json_atomic"]
