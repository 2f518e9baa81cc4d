"""MLflow as the system of record: every stage execution is one MLflow run.

`Tracker` is the engine's node hooks (`pipeline.engine.NodeHooks`): it starts a stage's run before
the stage, logs what the stage's `StageResult` carries after it and ends the run FINISHED, FAILED,
KILLED or (a stopped stage) FINISHED with a `dsla.stopped` tag. It talks to MLflow through
`MlflowClient` (no global active run), so it works the same in the main process, in `--jobs`
worker processes and in a training hook. Default store: `sqlite:///<cwd>/mlflow.db`, or
`--tracking-uri` / `MLFLOW_TRACKING_URI`.

The layout of the store (experiments, run names, tags, params, metrics, table parent/child runs)
is described in one place: pipeline/README.md, "MLflow layout".
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..engine import NodeHooks
from ..redact import redact

REPO_ROOT = Path(__file__).resolve().parents[2]


class TrackingUnavailable(RuntimeError):
    """The tracking store cannot be reached; raised before any training starts."""


def default_tracking_uri(cwd: str | os.PathLike | None = None) -> str:
    """`MLFLOW_TRACKING_URI` if set, else a SQLite file `mlflow.db` in the working directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(cwd or os.getcwd()).resolve() / 'mlflow.db'}"


def git_commit() -> str:
    """The repository's HEAD commit, with `-dirty` when the work tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD") or "unknown"
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail within seconds, naming the URI (its password hidden), when the tracking store cannot be
    used; create a fresh store's tables under a lock, so concurrent first runs do not collide in
    MLflow's migrations."""
    shown = redact(uri)
    if uri.startswith(("http://", "https://")):
        request = _health_request(uri)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if response.status != 200:
                    raise TrackingUnavailable(f"MLflow tracking server {shown} answered /health with HTTP {response.status}")
        except (urllib.error.URLError, OSError) as exc:
            raise TrackingUnavailable(
                f"MLflow tracking server {shown} is not reachable ({redact(exc)}); start it, or pass another "
                f"--tracking-uri (default: a SQLite file in the working directory)") from None
    elif uri.startswith("sqlite:///"):
        _check_sqlite_file(uri)
    elif uri.startswith(("postgresql", "mysql")):
        _check_database_answers(uri, timeout)
    try:
        with store_creation_lock(uri):
            _open_store(uri)
    except TrackingUnavailable:
        raise
    except Exception as exc:  # any failure here means no run could be recorded
        raise TrackingUnavailable(f"MLflow tracking store {shown} cannot be used: {type(exc).__name__}: "
                                  f"{_first_line(redact(exc))}") from None


def _open_store(uri: str) -> None:
    from mlflow.tracking import MlflowClient
    MlflowClient(uri).search_experiments(max_results=1)


def _first_line(text: str) -> str:
    return (str(text).strip().splitlines() or [""])[0]


def _check_database_answers(uri: str, timeout: float) -> None:
    """A database store (PostgreSQL, MySQL) accepts a connection within `timeout` seconds (MLflow
    itself retries a refused connection for about two minutes before it gives up)."""
    import sqlalchemy

    connect_args = {"connect_timeout": max(1, int(timeout))}
    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.pool.NullPool, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        raise TrackingUnavailable(f"MLflow tracking store {redact(uri)} is not reachable: "
                                  f"{_first_line(redact(getattr(exc, 'orig', None) or exc))}") from None
    finally:
        engine.dispose()


def _check_sqlite_file(uri: str) -> None:
    """The SQLite store's folder exists and its path is a SQLite database or nothing yet."""
    path = Path(uri[len("sqlite:///"):])
    if not path.parent.is_dir():
        raise TrackingUnavailable(f"MLflow tracking store {uri}: folder {path.parent} does not exist")
    if path.is_dir():
        raise TrackingUnavailable(f"MLflow tracking store {uri}: {path} is a folder, not a SQLite file")
    if path.exists():
        try:
            with open(path, "rb") as handle:
                header = handle.read(16)
        except OSError as exc:
            raise TrackingUnavailable(f"MLflow tracking store {uri}: {path} cannot be read ({exc.strerror})") from None
        if header and header != b"SQLite format 3\x00":
            raise TrackingUnavailable(f"MLflow tracking store {uri}: {path} is not a SQLite database")


def _health_request(uri: str) -> urllib.request.Request:
    """GET <server>/health; credentials in the URI (`http://user:token@host`) go into a Basic
    Authorization header, which is what MLflow's client does with them, not into the URL."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/health", "", ""))
    request = urllib.request.Request(url)
    if parts.username is not None:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(token).decode())
    return request


@contextlib.contextmanager
def store_creation_lock(uri: str) -> Iterator[None]:
    """Held while a process opens the store (and, the first time, MLflow creates its tables):
    two processes migrating a fresh `mlflow.db` at once collide (alembic `CommandError`).
    SQLite: `flock` on `<db>.lock`; PostgreSQL: an advisory lock; others: none needed."""
    if uri.startswith(("sqlite:///", "postgresql")):
        from ..sweeps.storage import storage_lock
        with storage_lock(uri, "mlflow tables"):
            yield
    else:
        yield


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested stage parameters as MLflow params (`overrides.K` -> `K`, lists as text)."""
    flat: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, Mapping):
            flat.update(flat_params(value, "" if name == "overrides" else f"{prefix}{name}."))
        else:  # floats rounded: a knob computed as 0.1 + 2 * 0.1 is logged as 0.3
            flat[f"{prefix}{name}"] = str(round(value, 6) if isinstance(value, float) else value)[:500]
    return flat


def owner_tags() -> dict[str, str]:
    """Who runs an execution: host, process and results folder, so that only its own folder ends
    a run whose process died (two folders sharing one store must not end each other's live runs)."""
    import socket
    return {"dsla.host": socket.gethostname(), "dsla.pid": str(os.getpid()), "dsla.folder": str(Path.cwd().resolve())}


def abandoned(tags: Mapping[str, str]) -> bool:
    """Whether a RUNNING run with these tags was left by a dead process of this folder on this host
    (a run without owner tags, from an older version, counts as abandoned)."""
    mine = owner_tags()
    if tags.get("dsla.folder", mine["dsla.folder"]) != mine["dsla.folder"] or \
            tags.get("dsla.host", mine["dsla.host"]) != mine["dsla.host"]:
        return False
    try:
        pid = int(tags.get("dsla.pid", "0"))
    except ValueError:
        return True
    if pid <= 0 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# Stages whose executions are watched while they run (environment for the training's own curve
# logging, system metrics): decided here, from what the node is, not by the stage.
WATCHED_STAGES = ("train",)


class Tracker(NodeHooks):
    """Creates and finishes the MLflow runs of stage executions (picklable: holds only settings)."""

    def __init__(self, uri: str, profile: str, commit: str | None = None):
        self.uri, self.profile = uri, profile
        self.commit = commit or git_commit()
        self._client = None
        self._experiments: dict[str, str] = {}
        self._watching: dict[str, contextlib.ExitStack] = {}  # by key: what watches a running training

    def __getstate__(self):
        return {"uri": self.uri, "profile": self.profile, "commit": self.commit, "_client": None, "_experiments": {},
                "_watching": {}}

    @property
    def client(self):
        if self._client is None:
            # MLflow prints "View run ... at <url>" on every run it ends on a server; the pipeline
            # says where its runs are itself, once.
            os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
            from mlflow.tracking import MlflowClient
            self._client = MlflowClient(self.uri)
        return self._client

    def experiment_id(self, dataset: str | None) -> str:
        """`dsla/<profile>/<dataset>`, created with its Markdown description and tagged as a
        model-training experiment, so MLflow 3's UI opens it with runs, charts and comparisons
        (not the GenAI view it shows experiments of unknown kind)."""
        from .records import EXPERIMENT_KIND, experiment_description

        dataset = dataset if dataset in ("crowdhuman", "coco") else None
        name = f"dsla/{self.profile}/{dataset or 'report'}"
        if name in self._experiments:
            return self._experiments[name]
        tags = {"mlflow.note.content": experiment_description(self.profile, dataset), EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1]}
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(name, tags=tags)
            except Exception:  # created meanwhile by a parallel worker
                experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
            for key, value in tags.items():  # an experiment made by an older version of the pipeline
                if key not in experiment.tags:
                    self.client.set_experiment_tag(experiment_id, key, value)
        self._experiments[name] = experiment_id
        return experiment_id

    def start_run(self, name: str, dataset: str | None, tags: Mapping[str, str] | None = None,
                  params: Mapping[str, Any] | None = None, parent_run_id: str | None = None) -> str:
        all_tags = {"dsla.profile": self.profile, "mlflow.source.git.commit": self.commit, **(tags or {})}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id(dataset), run_name=name, tags=all_tags)
        if params:
            from mlflow.entities import Param
            self.client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in flat_params(params).items()])
        return run.info.run_id

    def parent_run_name(self, node, name: str) -> str:
        """A table's, the figure's or the report's run: its name says profile, seeds, commit and
        time, so re-runs of `table4` are told apart (and sorted) in MLflow's run list."""
        if node.stage.name not in ("table", "figure", "report"):
            return name
        seeds = node.params.get("seeds")
        parts = [name, self.profile, f"{seeds} seed{'s' if seeds != 1 else ''}" if seeds else "",
                 (self.commit or "")[:7], time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())]
        return " · ".join(p for p in parts if p)

    # --- the engine's node hooks (pipeline.engine.NodeHooks): one MLflow run per execution -------
    def before_node(self, node, ctx) -> str:
        """Start the execution's run (named with what differs first, `records.run_name`; its params,
        `dsla.stage` / `dsla.key` / `dsla.node` tags)."""
        from .records import run_name

        self.end_abandoned_runs(ctx.key, node.params.get("dataset"))
        run_id = self.start_run(self.parent_run_name(node, run_name(node)), node.params.get("dataset"),
                                tags={"dsla.stage": node.stage.name, "dsla.key": ctx.key, "dsla.node": node.name,
                                      **owner_tags()},
                                params={"profile": self.profile, **node.params})
        if node.stage.name in WATCHED_STAGES:
            self._watch(ctx.key, run_id)
        return run_id

    def _watch(self, key: str, run_id: str) -> None:
        """While a training runs: `MLFLOW_TRACKING_URI` set to this store (its `MLflowMetricsHook`, in
        this process or a launched worker, finds the store through the environment, never through the
        dumped config, which is logged and copied into every checkpoint) and the system metrics."""
        watching = contextlib.ExitStack()
        old = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = self.uri
        watching.callback(lambda: os.environ.pop("MLFLOW_TRACKING_URI", None) if old is None
                          else os.environ.__setitem__("MLFLOW_TRACKING_URI", old))
        watching.enter_context(self.system_metrics(run_id))
        self._watching[key] = watching

    def _unwatch(self, key: str) -> None:
        watching = self._watching.pop(key, None)
        if watching is not None:
            watching.close()

    def watchers(self, node, ctx) -> list[dict]:
        """A training's curves, loss terms and T_j into its run, per epoch (`MLflowMetricsHook`; it finds
        the store through `MLFLOW_TRACKING_URI`, set by `_watch`, never through the dumped config)."""
        if node.stage.name not in WATCHED_STAGES or not ctx.run_id:
            return []
        return [{"module": "pipeline.tracking.mlflow_hook", "hook": {"type": "MLflowMetricsHook", "run_id": ctx.run_id}}]

    def runs(self, keys) -> dict[str, str]:
        """`{key: run id}` of each stage execution key's newest finished run in this profile's
        experiments (`report.links.runs_by_key`)."""
        from ..report.links import runs_by_key

        return {key: run.info.run_id for key, run in runs_by_key(self.client, self.profile, keys).items()}

    def after_node(self, node, ctx, result, inputs) -> None:
        """Log what the run carries — decided from the stage's typed result (`records.logged`), plus
        whatever a plain `StageResult` carries itself — then end the run FINISHED."""
        from .records import logged

        self._unwatch(ctx.key)
        run_id, dataset = ctx.run_id, node.params.get("dataset")
        log = logged(node, result.returned, inputs, self.runs) \
            if result.returned is not None else {}
        params = {**log.get("params", {}), **result.params}
        metrics = {**log.get("metrics", {}), **result.metrics}
        tags = {**log.get("tags", {}), **result.tags}
        artifacts = {**log.get("artifacts", {}), **result.artifacts}
        children_ = [*log.get("children", []), *result.children]
        description = "\n\n".join(filter(None, [log.get("description", ""), result.description]))
        if params:
            self.log_params(run_id, params)
        if metrics:
            self.log_metrics(run_id, metrics)
        for name, value in tags.items():
            self.client.set_tag(run_id, name, str(value))
        for folder, files in artifacts.items():
            self.log_artifacts(run_id, list(files), folder or None)
        children = [self.child_run(run_id, child.name, dataset, tags=child.tags, params=child.params,
                                   metrics=child.metrics) for child in children_]
        if children:  # a table: one click from its parent run to its rows compared
            from .records import compare_url
            url = compare_url(children, [self.experiment_id(dataset)])
            self.client.set_tag(run_id, "dsla.compare_url", url)
            description = f"[Compare the rows]({url}) ({len(children)} runs side by side).\n\n" + description
        if description:
            self.set_description(run_id, description)
        for data in [*log.get("inputs", []), *result.inputs]:
            self.log_dataset(run_id, **data)
        for model in [*log.get("models", []), *result.models]:
            self.log_checkpoint(run_id, dataset, **model)
        self.client.set_terminated(run_id, "FINISHED")

    def on_node_stopped(self, node, ctx, reason: str) -> None:
        """A stage stopped on purpose (a pruned trial) is not a failure: FINISHED, tagged `dsla.stopped`
        (the reason) and `dsla.pruned`."""
        self._unwatch(ctx.key)
        self.client.set_tag(ctx.run_id, "dsla.stopped", redact(reason)[:5000] or "stopped")
        self.client.set_tag(ctx.run_id, "dsla.pruned", "true")
        self.client.set_terminated(ctx.run_id, "FINISHED")

    def on_node_error(self, node, ctx, error: BaseException) -> None:
        """FAILED with the error in `dsla.error` (KILLED when interrupted)."""
        self._unwatch(ctx.key)
        self.client.set_tag(ctx.run_id, "dsla.error", redact(f"{type(error).__name__}: {error}")[:5000])
        self.client.set_terminated(ctx.run_id, "FAILED" if isinstance(error, Exception) else "KILLED")

    def end_abandoned_runs(self, key: str, dataset: str | None) -> None:
        """Mark KILLED the runs of `key` still RUNNING: their process died (e.g. `kill -9`).

        Called when `key` starts again (`before_node`); the engine starts a key only when no live
        process holds it.
        """
        stale = self.client.search_runs([self.experiment_id(dataset)],
                                        filter_string=f"tags.`dsla.key` = '{key}' and attributes.status = 'RUNNING'")
        for run in stale:
            if not abandoned(run.data.tags):  # another folder's, another host's, or its process lives
                continue
            self.client.set_tag(run.info.run_id, "dsla.error", "killed: its process died before the stage ended")
            self.client.set_terminated(run.info.run_id, "KILLED")

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None = None) -> None:
        import time

        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, step or 0) for k, v in metrics.items()
                                               if v is not None])

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add params the run does not have yet (MLflow params cannot change once logged)."""
        from mlflow.entities import Param
        have = self.client.get_run(run_id).data.params
        new = {k: v for k, v in flat_params(params).items() if k not in have}
        if new:
            self.client.log_batch(run_id, params=[Param(k, v) for k, v in new.items()])

    def log_artifacts(self, run_id: str, paths: list[str | os.PathLike], artifact_path: str | None = None) -> None:
        """Files and folders as run artifacts; PNG figures through `log_image`."""
        for path in paths:
            if Path(path).is_dir():
                self.client.log_artifacts(run_id, str(path), artifact_path)
            elif Path(path).suffix.lower() == ".png" and Path(path).exists():
                self.log_image(run_id, path, "/".join(filter(None, [artifact_path, Path(path).name])))
            elif Path(path).exists():
                self.client.log_artifact(run_id, str(path), artifact_path)

    def log_image(self, run_id: str, png: str | os.PathLike, artifact_file: str) -> None:
        """A PNG as an MLflow image (shown as a picture in the run's artifacts)."""
        from PIL import Image
        with Image.open(png) as image:
            self.client.log_image(run_id, image.convert("RGB"), artifact_file=artifact_file)

    def set_description(self, run_id: str, markdown: str) -> None:
        self.client.set_tag(run_id, "mlflow.note.content", markdown[:5000])

    def log_dataset(self, run_id: str, *, name: str, digest: str, source: str, profile: Mapping[str, Any],
                    context: str) -> None:
        """The run's data as an MLflow dataset input (the UI's Dataset column): `name`, a content
        `digest`, where it lives, a `profile` of its statistics, and the `context` (training / eval)."""
        import json

        from mlflow.entities import Dataset, DatasetInput, InputTag
        dataset = Dataset(name=name, digest=digest[:36], source_type="local", source=json.dumps({"uri": source}),
                          profile=json.dumps(dict(profile), default=str))
        self.client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)])])

    def log_checkpoint(self, run_id: str, dataset: str | None, files: list[str | os.PathLike], *, name: str,
                       params: Mapping[str, Any] | None = None, step: int = 0) -> str | None:
        """The final checkpoint (and its config) as an MLflow logged model of `run_id` (the UI's
        Models column; no flavor: mmdet models load with mmdet from these files); with an MLflow
        without logged models, or when creating one fails, as run artifacts under `checkpoint/`
        (a training's result never depends on the tracker). Returns the model id."""
        import re
        import shutil
        import tempfile

        create = getattr(self.client, "create_logged_model", None)
        if create is None:
            self.log_artifacts(run_id, files, "checkpoint")
            return None
        from mlflow.entities import LoggedModelOutput, LoggedModelStatus
        name = re.sub(r"[/:.%\"'\s]+", "_", name)  # characters MLflow refuses in a model name
        try:
            model = create(self.experiment_id(dataset), name=name, source_run_id=run_id,
                           model_type="mmdet-checkpoint", params=flat_params(params or {}))
        except Exception as exc:
            self.client.set_tag(run_id, "dsla.model_error", f"{type(exc).__name__}: {exc}"[:500])
            self.log_artifacts(run_id, files, "checkpoint")
            return None
        with tempfile.TemporaryDirectory(prefix="dsla-model-") as folder:
            for path in files:  # hard links where possible: a checkpoint is not copied to be uploaded
                target = Path(folder) / Path(path).name
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copyfile(path, target)
            self.client.log_model_artifacts(model.model_id, folder)
        self.client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
        self.client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step)])
        return model.model_id

    @contextlib.contextmanager
    def system_metrics(self, run_id: str | None, interval: float = 10.0) -> Iterator[None]:
        """CPU, memory, disk (and GPU) use into the run while the block runs (MLflow's monitor, which
        needs psutil); without it, the run's tag `dsla.system_metrics` says why not."""
        monitor = None
        if run_id:
            try:
                import logging

                from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
                logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)  # no start/stop lines
                monitor = SystemMetricsMonitor(run_id, sampling_interval=interval, tracking_uri=self.uri)
                monitor.start()
            except Exception as exc:  # e.g. psutil missing: training goes on unwatched
                monitor = None
                self.client.set_tag(run_id, "dsla.system_metrics", f"unavailable: {type(exc).__name__}: {exc}"[:500])
        try:
            yield
        finally:
            if monitor is not None:
                monitor.finish()

    def child_run(self, parent_run_id: str, name: str, dataset: str | None, *, tags: Mapping[str, str],
                  params: Mapping[str, Any], metrics: Mapping[str, float]) -> str:
        """A finished child run (e.g. one table row) under `parent_run_id`."""
        from .records import EXPERIMENT
        experiment = self.experiment_id(dataset)  # in the links its description was written with
        tags = {k: v.replace(EXPERIMENT, experiment) if isinstance(v, str) else v for k, v in tags.items()}
        run_id = self.start_run(name, dataset, tags=tags, params=params, parent_run_id=parent_run_id)
        self.log_metrics(run_id, metrics)
        self.client.set_terminated(run_id, "FINISHED")
        return run_id
