"""Screenshots of MLflow's UI for docs/mlflow.md, taken in a real headless Chromium against a real
`mlflow server` on 127.0.0.1 that holds a real pipeline run.

    python scripts/mlflow_screenshots.py [--profile smoke] [--workdir DIR] [--out docs/images]

1. starts `mlflow server` on a free port over a SQLite store in WORKDIR (default: a new
   temporary folder; an existing one is reused, its runs included);
2. runs `pipeline run table4 --profile P` there, tracked by that server (cached after the first time);
3. opens, in Chromium (Debian's `chromium`, headless, fresh profile, no network besides 127.0.0.1):
   - `table4_compare.png`: MLflow's run comparison of Table 4's row runs (FS / DSLA flags, the
     knobs, AP and its difference to the baseline, the paper's numbers);
   - `table4_runs.png`: the experiment's runs table, filtered to Table 4's rows;
   - `curves_overlaid.png`: validation AP per epoch of the baseline's and DSLA + FS's training
     runs on one chart;
4. writes the PNGs to `--out`.

The helpers (`MlflowServer`, `chromium`, the URL builders) are also used by the tests
(tests/docs/test_mlflow_ui.py), which read the rendered page's text instead of its pixels.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--disable-dev-shm-usage")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """`mlflow server` over `<folder>/mlflow.db` (artifacts in `<folder>/mlartifacts`), on 127.0.0.1."""

    def __init__(self, folder: Path, startup_seconds: float = 120):
        self.folder = Path(folder).resolve()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_seconds = startup_seconds
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "MlflowServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        mlflow = Path(sys.executable).with_name("mlflow")
        command = [str(mlflow) if mlflow.exists() else "mlflow", "server", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1",
                   "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
                   "--artifacts-destination", str(self.folder / "mlartifacts")]
        self.log = open(self.folder / "mlflow-server.log", "ab")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_seconds
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                tail = (self.folder / "mlflow-server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mlflow server did not start on {self.url}: {tail}")
            time.sleep(0.5)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)  # the server and its gunicorn/uvicorn workers, ours only
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no Chromium found: install Debian's `chromium` (apt-get install chromium)")


def chromium(url: str, *, screenshot: Path | None = None, dump_dom: bool = False, size=(1600, 1000),
             wait_ms: int = 20000, timeout: float = 180) -> str:
    """Load `url` in a fresh headless Chromium; save a screenshot and/or return the rendered DOM.

    `wait_ms` is virtual time for the single-page app to fetch its data and draw (Chromium
    fast-forwards idle timers, so it usually takes less wall time).
    """
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={wait_ms}"]
        if screenshot is not None:
            command.append(f"--screenshot={Path(screenshot).resolve()}")
        if dump_dom:
            command.append("--dump-dom")
        done = subprocess.run([*command, url], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or (screenshot is not None and not Path(screenshot).exists()):
        raise RuntimeError(f"chromium failed on {url} (exit {done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def _json_list(values) -> str:
    return urllib.parse.quote(json.dumps(list(values), separators=(",", ":")))


def compare_url(base: str, run_ids, experiment_ids) -> str:
    """MLflow's run comparison page (params, metrics and tags of the runs side by side)."""
    return f"{base}/#/compare-runs?runs={_json_list(run_ids)}&experiments={_json_list(experiment_ids)}"


def metric_url(base: str, metric: str, run_ids, experiment_ids) -> str:
    """MLflow's metric page: `metric`'s history of every run on one chart, x = step (= epoch)."""
    return (f"{base}/#/metric/{urllib.parse.quote(metric, safe='')}?runs={_json_list(run_ids)}"
            f"&experiments={_json_list(experiment_ids)}&plot_metric_keys={_json_list([metric])}"
            f"&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=true")


def runs_url(base: str, experiment_id: str, search: str) -> str:
    """An experiment's runs table with a search filter."""
    return f"{base}/#/experiments/{experiment_id}/runs?searchFilter={urllib.parse.quote(search)}"


def table_rows(client, experiment_id: str, table: str):
    """The row runs of `table` (tag `dsla.table`), newest first, one per row id."""
    runs = client.search_runs([experiment_id], f"tags.`dsla.table` = '{table}' and tags.`dsla.stage` = 'table-row'",
                              order_by=["attributes.start_time DESC"], max_results=200)
    latest = {}
    for run in runs:
        latest.setdefault(run.data.tags["dsla.row"], run)
    return latest


def take(workdir: Path, out: Path, profile: str) -> list[Path]:
    from mlflow.tracking import MlflowClient

    out.mkdir(parents=True, exist_ok=True)
    with MlflowServer(workdir) as server:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "table4", "--profile", profile,
                        "--tracking-uri", server.url, "--no-progress"], cwd=workdir, env=env, check=True)
        client = MlflowClient(server.url)
        experiment = client.get_experiment_by_name(f"dsla/{profile}/crowdhuman").experiment_id
        rows = table_rows(client, experiment, "table4")
        order = [r for r in ("baseline", "fs", "dsla", "dsla_fs") if r in rows]
        files = [out / "table4_compare.png", out / "table4_runs.png", out / "curves_overlaid.png"]
        chromium(compare_url(server.url, [rows[r].info.run_id for r in order], [experiment]),
                 screenshot=files[0], size=(1500, 1250))
        chromium(runs_url(server.url, experiment, "tags.`dsla.table` = 'table4'"), screenshot=files[1], size=(1700, 800))
        trains = [rows[r].data.tags["dsla.train_run_ids"].split(",")[0] for r in ("baseline", "dsla_fs")]
        chromium(metric_url(server.url, "val/AP", trains, [experiment]), screenshot=files[2], size=(1400, 800))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="smoke", choices=("smoke", "tiny"))
    parser.add_argument("--workdir", help="where the pipeline runs and the MLflow store lives (default: temporary)")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "images"))
    args = parser.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mlflow-screenshots-")).resolve()
    for path in take(workdir, Path(args.out), args.profile):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
