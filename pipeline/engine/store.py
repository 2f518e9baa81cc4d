"""The local results store: one directory per stage key, `<root>/<key>/result.json`.

A record is written atomically (temporary file, fsync, `os.replace`), so a reader sees either the
whole record or none. A record that is there but unreadable — truncated by a crash of some other
writer, edited by hand, or written for another key — counts as *incomplete* and its stage runs
again. Failed stages are recorded too (with their error), but only a `done` record is reused.

Beside the records, `<root>/index/<node>.json` remembers the last key each node name ran under, so
`--dry-run` can say *why* a node would run (a parameter changed, an upstream changed, ...).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DONE, FAILED, INCOMPLETE, MISSING, RUNNING, STOPPED = "done", "failed", "incomplete", "missing", "running", "stopped"
FINISHED = (DONE, FAILED, STOPPED)  # what a record's status can be once its stage has ended


@dataclass(frozen=True)
class Record:
    """What the store holds for one stage key."""

    status: str  # one of DONE, FAILED, STOPPED, INCOMPLETE, MISSING, RUNNING
    data: dict[str, Any]

    @property
    def result(self) -> dict[str, Any] | None:
        return self.data.get("result")

    @property
    def error(self) -> str | None:
        return self.data.get("error")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, fsync it, then rename it over `path`.

    The parent folder is created if needed; on any failure the temporary file is removed and the
    old `path` (if any) is left as it was. (`dsla.datasets.files` has its own copy: the engine
    imports nothing of `dsla`, and `dsla` nothing of the pipeline.)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write `payload` as JSON to `path` so that no reader ever sees a partial file."""
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True, default=str))


def _node_file_name(node_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", node_name) + ".json"


@contextlib.contextmanager
def repeating(action, interval, *, now: bool = False, name: str | None = None):
    """While the block runs, call `action()` every `interval()` seconds in a daemon thread (also
    at once with `now`); the thread is stopped and joined when the block ends. The heartbeat of a
    stage's claim (`ResultStore.holding`) and of an Optuna trial (`pipeline.sweeps.storage`)."""
    stop = threading.Event()

    def loop() -> None:
        if now:
            action()
        while not stop.wait(interval()):
            action()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class ResultStore:
    """Stage results on disk, addressed by stage key."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def result_path(self, key: str) -> Path:
        return self.root / key / "result.json"

    def running_path(self, key: str) -> Path:
        return self.root / key / "running.json"

    def load(self, key: str) -> Record:
        """The record for `key`; status MISSING, INCOMPLETE, RUNNING, DONE or FAILED."""
        path = self.result_path(key)
        if not path.exists():
            running = self.running_path(key)
            marker = _read_marker(running) if running.exists() else None
            if _holder_alive(marker):
                return Record(RUNNING, {"pid": marker["pid"], "where": marker.get("where")})
            return Record(MISSING, {})
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            return Record(INCOMPLETE, {"error": f"{path}: unreadable result ({exc})"})
        if not isinstance(data, dict) or data.get("key") != key or data.get("status") not in FINISHED:
            return Record(INCOMPLETE, {"error": f"{path}: not a complete result for key {key}"})
        if data["status"] == DONE and not isinstance(data.get("result"), dict):
            return Record(INCOMPLETE, {"error": f"{path}: a done record without a result"})
        return Record(data["status"], data)

    def claim(self, key: str) -> int | None:
        """Make this process the one that runs `key`, atomically: None when it is ours, else the
        pid of the live process that holds it.

        The marker `<key>/running.json` is written to a private file and hard-linked into place,
        which fails if the marker exists, so of two processes checking the same stage at the same
        moment exactly one wins. A marker whose process is dead (killed) is stale: removed, and
        the claim tried again. The marker says where its pid lives (`WHERE`: host and PID
        namespace); one from elsewhere is alive while it is renewed (`holding`, within
        `LEASE_SECONDS`)."""
        path = self.running_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        mine = path.with_name(f"running.{os.getpid()}.{time.time_ns()}.tmp")
        write_json_atomic(mine, {"pid": os.getpid(), "where": WHERE})
        try:
            for _ in range(10):
                try:
                    os.link(mine, path)
                    return None
                except FileExistsError:
                    marker = _read_marker(path)
                    if marker is not None and marker["pid"] == os.getpid() and marker.get("where", WHERE) == WHERE:
                        return None
                    if _holder_alive(marker):
                        return marker["pid"]
                    if _read_marker(path) == marker:  # still the dead (or lapsed) holder's marker: set it aside
                        path.unlink(missing_ok=True)
            raise RuntimeError(f"{path}: could not claim the stage (its marker keeps changing)")
        finally:
            mine.unlink(missing_ok=True)

    @contextlib.contextmanager
    def holding(self, key: str, every: float | None = None):
        """While the block runs, renew this process's claim on `key` every `every` seconds (its
        marker's mtime): a process on another host or in another PID namespace cannot check our
        pid, so it takes a marker renewed within `LEASE_SECONDS` for a live holder."""
        def renew():
            with contextlib.suppress(OSError):
                os.utime(self.running_path(key))

        with repeating(renew, lambda: every or HEARTBEAT_SECONDS):
            yield

    def save(self, key: str, record: dict[str, Any]) -> None:
        """Record a finished (done, failed or stopped) stage under `key`, and index it by node name."""
        payload = dict(record, key=key)
        path = self.result_path(key)
        if path.is_dir() and not path.is_symlink():  # not a record (load said incomplete): set aside
            path.rename(path.with_name(f"{path.name}.damaged-{os.getpid()}-{time.time_ns()}"))
        write_json_atomic(path, payload)
        self.running_path(key).unlink(missing_ok=True)
        index = {name: payload.get(name) for name in ("key", "node", "stage", "code", "params", "inputs", "status")}
        write_json_atomic(self.root / "index" / _node_file_name(payload["node"]), index)

    def remember_value(self, value_id: str, key: str) -> None:
        """Index the done record of `key` by its value identity (`execution.value_identity`)."""
        write_json_atomic(self.root / "values" / f"{value_id}.json", {"key": key})

    def key_for_value(self, value_id: str) -> str | None:
        """The key of a done record with this value identity, if one was indexed."""
        try:
            key = json.loads((self.root / "values" / f"{value_id}.json").read_text())["key"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return key if isinstance(key, str) and re.fullmatch(r"[0-9a-f]{16}", key) else None

    def last_run_of(self, node_name: str) -> dict[str, Any] | None:
        """Key, params and input keys the node called `node_name` last finished under, if any."""
        path = self.root / "index" / _node_file_name(node_name)
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return ""


# Where a pid means something: this host and PID namespace. A marker written elsewhere (another
# login node sharing the folder, a container) is judged by its lease, not by `kill(pid, 0)`.
WHERE = f"{socket.gethostname()}/{_pid_namespace()}"
HEARTBEAT_SECONDS = 30.0  # a running stage renews its marker this often (`ResultStore.holding`)
LEASE_SECONDS = 300.0  # a marker from elsewhere not renewed for this long is a dead holder's


def _read_marker(path: Path) -> dict | None:
    """`{"pid", "where", "mtime"}` of a running marker, or None if unreadable."""
    try:
        data = json.loads(path.read_text())
        return {"pid": int(data["pid"]), "where": data.get("where"), "mtime": path.stat().st_mtime}
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def _holder_alive(marker: dict | None) -> bool:
    """Whether the process of a running marker still holds it: on this host and PID namespace, a
    live pid other than ours; elsewhere, a marker renewed within the lease."""
    if marker is None:
        return False
    if marker.get("where") not in (None, WHERE):
        return time.time() - marker["mtime"] < LEASE_SECONDS
    return _other_process_alive(marker["pid"])


def _other_process_alive(pid: int | None) -> bool:
    """Whether `pid` is a live process other than this one (a stale marker of ours is not)."""
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
