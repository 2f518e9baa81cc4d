"""Where a study lives, how workers notice a dead worker, and how they take turns creating trials.

- Default storage: `optuna.db` beside the MLflow SQLite store (`sqlite:///.../mlflow.db` ->
  `sqlite:///.../optuna.db`), else in the working directory. A PostgreSQL URL
  (`postgresql://user@host:5432/db`) lets workers on many machines share one study.
- Heartbeats: each running trial records a heartbeat every `interval` seconds; a trial whose
  heartbeat is older than `grace` seconds belongs to a dead worker. The next worker to ask for a
  trial fails it (`optuna.storages.fail_stale_trials`) and the stale-trial callback queues it again
  (`RetryHeartbeatStaleTrialCallback`), so the point is re-run, resuming from its checkpoint.
- `storage_lock`: a cross-process lock, held while a worker decides whether work is left and
  creates its trial (without it two workers can both see one grid point left and both start it:
  Optuna's GridSampler hands out unfinished points again once every point has started), and while
  a storage creates its tables (two workers creating them at once collide). SQLite: `flock` on
  `<db>.lock`; PostgreSQL: a session advisory lock. Both are released if the holder dies.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import warnings
from pathlib import Path
from typing import Callable, Iterator

from ..engine.store import repeating
from ..redact import redact

HEARTBEAT_INTERVAL, GRACE_PERIOD = 30, 120  # seconds
STORAGE_ENV = "DSLA_OPTUNA_STORAGE"  # how a trial's training finds the storage (never a dumped config)
SQLITE_TIMEOUT = 120  # seconds a SQLite writer waits for the database lock


def default_storage(tracking_uri: str, cwd: str | Path = ".") -> str:
    """`sqlite:///<folder of the MLflow SQLite store>/optuna.db`, else `<cwd>/optuna.db`."""
    if tracking_uri.startswith("sqlite:///"):
        folder = Path(tracking_uri[len("sqlite:///"):]).parent
    else:
        folder = Path(cwd)
    return f"sqlite:///{folder.resolve() / 'optuna.db'}"


def normalize(url: str) -> str:
    """A plain `postgresql://` URL names SQLAlchemy's default driver, psycopg 3; where only psycopg2
    is installed (the project's dev extra), name that one instead."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def check_storage(url: str, timeout: int = 5) -> None:
    """Refuse, in one line (ValueError) and within seconds, a storage URL no worker could use: not
    a URL, neither SQLite nor PostgreSQL, a SQLite path that is a folder or not a database, a
    PostgreSQL server that does not answer."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    shown = redact(url)
    try:
        parsed = make_url(url)
    except Exception:  # sqlalchemy.exc.ArgumentError and friends
        raise ValueError(f"--storage {shown}: not a database URL (expected sqlite:///<file> or "
                         f"postgresql://user@host:port/db)") from None
    path = sqlite_path(url)
    if path is not None:
        if not path.parent.is_dir():
            raise ValueError(f"--storage {shown}: folder {path.parent} does not exist")
        if path.is_dir():
            raise ValueError(f"--storage {shown}: {path} is a folder, not a SQLite file")
        if path.exists() and path.stat().st_size:
            with open(path, "rb") as handle:
                if handle.read(16) != b"SQLite format 3\x00":
                    raise ValueError(f"--storage {shown}: {path} is not a SQLite database")
        return
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"--storage {shown}: expected sqlite:///<file> or postgresql://user@host:port/db "
                         f"(SQLite for one machine, PostgreSQL for many)")
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool,
                                      connect_args={"connect_timeout": timeout})
    try:
        with engine.connect():
            pass
    except Exception as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise ValueError(f"--storage {shown}: PostgreSQL does not answer "
                         f"({redact(detail[0] if detail else type(exc).__name__)})") from None
    finally:
        engine.dispose()


def open_storage(url: str, *, on_stale: Callable | None = None, heartbeat_interval: int = HEARTBEAT_INTERVAL,
                 grace_period: int = GRACE_PERIOD):
    """An `optuna.storages.RDBStorage` with heartbeats; `on_stale(study, frozen_trial)` runs for
    every trial found stale (after Optuna marked it FAIL)."""
    import optuna

    engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        raise FileNotFoundError(f"Optuna storage {url}: folder {path.parent} does not exist")
    with warnings.catch_warnings(), storage_lock(url, "create tables"):
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                                          grace_period=grace_period, heartbeat_stale_trial_callback=on_stale)


def fail_stale_trials(study) -> None:
    """Fail (and, through the storage's callback, re-queue) trials of dead workers."""
    import optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


@contextlib.contextmanager
def heartbeat(storage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every `storage.get_heartbeat_interval()` s while the body runs."""
    with repeating(lambda: storage.record_heartbeat(trial_id), storage.get_heartbeat_interval, now=True,
                   name=f"optuna-heartbeat-{trial_id}"):
        yield


@contextlib.contextmanager
def storage_lock(url: str, name: str) -> Iterator[None]:
    """Mutual exclusion, under `name`, between all processes using the storage `url`."""
    path = sqlite_path(url)
    if path is not None:
        with open(f"{path}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if url.startswith("postgresql"):
        import sqlalchemy
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
                try:
                    yield
                finally:
                    connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        finally:
            engine.dispose()
        return
    raise ValueError(f"Optuna storage {redact(url)}: sweeps support SQLite (one machine) and PostgreSQL "
                     f"(many machines) storages")
