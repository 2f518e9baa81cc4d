"""Screenshots of MLflow's UI for docs/mlflow.md, taken in a real headless Chromium against a real
`mlflow server` on 127.0.0.1 that holds a real pipeline run.

    python scripts/mlflow_screenshots.py [--profile smoke] [--workdir DIR] [--out docs/images]

1. starts `mlflow server` on a free port over a SQLite store in WORKDIR (default: a new
   temporary folder; an existing one is reused, its runs included);
2. runs `pipeline run table4 --profile P` there, tracked by that server (cached after the first time);
3. opens, in Chromium (Debian's `chromium`, headless, fresh profile, no network besides 127.0.0.1):
   - `mlflow_table4_compare.png`: MLflow's run comparison of Table 4's row runs (FS / DSLA flags, the
     knobs, AP and its difference to the baseline, the paper's numbers);
   - `mlflow_curves_overlaid.png`: validation AP per epoch of the baseline's and DSLA + FS's training
     runs on one chart;
4. writes the PNGs to `--out`.

The helpers (`MlflowServer`, `Chromium`, the URL builders) are also used by the tests
(tests/docs/test_mlflow_ui.py), which read the rendered page's text instead of its pixels.
"""
from __future__ import annotations

import argparse
import asyncio
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


# MLflow's UI keeps these in the browser's localStorage (`<key>_v<version>`, JSON values). A fresh
# profile opens in GenAI mode with the assistant panel popped open; set before the page loads,
# they show the model-training UI (as `?workflowType=machine_learning` in a link does) without it.
UI_STORAGE = {"mlflow.workflowType_v1": "machine_learning", "mlflow.assistant.panelOpen_v1": False,
              "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": True}


class Chromium:
    """Headless Chromium (fresh profile) driven through the DevTools protocol over a websocket
    (aiohttp, an MLflow dependency): open a page, wait for text to appear, read the text, save a
    screenshot. `with Chromium() as browser: browser.page(url, ...)`."""

    def __init__(self, timeout: float = 90):
        self.timeout = timeout

    def __enter__(self) -> "Chromium":
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        command = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile.name}",
                   "--remote-debugging-port=0", "about:blank"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        deadline = time.monotonic() + self.timeout
        self.endpoint = None
        while self.endpoint is None:
            line = self.process.stderr.readline()
            if line.startswith("DevTools listening on "):
                self.endpoint = line.split(" on ", 1)[1].strip()
            elif not line and (self.process.poll() is not None or time.monotonic() > deadline):
                self.__exit__()
                raise RuntimeError("chromium did not start its DevTools endpoint")
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.profile.cleanup()

    def page(self, url: str, *, wait_for: tuple[str, ...] = (), screenshot: Path | None = None,
             size=(1600, 1000), storage: dict | None = None, settle: float = 2.0) -> str:
        """Load `url` (after setting `storage` in its origin's localStorage), wait until the page's
        text contains every string of `wait_for`, save a screenshot; return the page's text."""
        import asyncio
        return asyncio.run(self._page(url, wait_for, screenshot, size, storage if storage is not None else UI_STORAGE,
                                      settle))

    async def _page(self, url, wait_for, screenshot, size, storage, settle) -> str:
        import base64

        import aiohttp

        async with aiohttp.ClientSession() as http, http.ws_connect(self.endpoint, max_msg_size=0) as ws:
            counter = iter(range(1, 1 << 30))

            async def send(method, params=None, session=None):
                message = {"id": next(counter), "method": method, "params": params or {}}
                if session:
                    message["sessionId"] = session
                await ws.send_json(message)
                while True:
                    reply = await asyncio.wait_for(ws.receive_json(), self.timeout)
                    if reply.get("id") == message["id"]:
                        if "error" in reply:
                            raise RuntimeError(f"chromium {method}: {reply['error']}")
                        return reply.get("result", {})

            target = (await send("Target.createTarget", {"url": "about:blank"}))["targetId"]
            session = (await send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]

            async def evaluate(expression):
                result = await send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
                return result.get("result", {}).get("value")

            async def until(expression, what):
                deadline = time.monotonic() + self.timeout
                while not await evaluate(expression):
                    if time.monotonic() > deadline:
                        text = await evaluate("document.body ? document.body.innerText : ''")
                        raise TimeoutError(f"{url}: {what} did not appear within {self.timeout} s; "
                                           f"the page says: {(text or '')[:1500]!r}")
                    await asyncio.sleep(0.5)

            await send("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                               "deviceScaleFactor": 1, "mobile": False}, session)
            origin = urllib.parse.urlsplit(url)
            await send("Page.navigate", {"url": f"{origin.scheme}://{origin.netloc}/health"}, session)
            await until("document.readyState === 'complete'", "the origin")
            await evaluate("".join(f"localStorage.setItem({json.dumps(k)}, {json.dumps(json.dumps(v))});"
                                   for k, v in storage.items()) + "true")
            await send("Page.navigate", {"url": url}, session)
            for text in wait_for:
                await until(f"document.body && document.body.innerText.includes({json.dumps(text)})", repr(text))
            await asyncio.sleep(settle)  # charts animate in
            if screenshot is not None:
                shot = await send("Page.captureScreenshot", {"format": "png"}, session)
                Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            text = await evaluate("document.body.innerText")
            await send("Target.closeTarget", {"targetId": target})
            return text or ""


def _json_list(values) -> str:
    return urllib.parse.quote(json.dumps(list(values), separators=(",", ":")))


def compare_url(base: str, run_ids, experiment_ids) -> str:
    """MLflow's run comparison page (params, metrics and tags of the runs side by side)."""
    return (f"{base}/#/compare-runs?runs={_json_list(run_ids)}&experiments={_json_list(experiment_ids)}"
            f"&workflowType=machine_learning")


def metric_url(base: str, metric: str, run_ids, experiment_ids) -> str:
    """MLflow's metric page: `metric`'s history of every run on one chart, x = step (= epoch)."""
    return (f"{base}/#/metric?runs={_json_list(run_ids)}&metric={urllib.parse.quote(json.dumps(metric))}"
            f"&experiments={_json_list(experiment_ids)}&plot_metric_keys={_json_list([metric])}"
            f"&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=true&workflowType=machine_learning")


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
        files = [out / "mlflow_table4_compare.png", out / "mlflow_curves_overlaid.png"]
        trains = [rows[r].data.tags["dsla.train_run_ids"].split(",")[0] for r in ("baseline", "dsla_fs")]
        with Chromium() as browser:
            browser.page(compare_url(server.url, [rows[r].info.run_id for r in order], [experiment]),
                         wait_for=("AP_vs_baseline", "DSLA"), screenshot=files[0], size=(1500, 2300))
            browser.page(metric_url(server.url, "val/AP", trains, [experiment]),
                         wait_for=("dsla_fs", "baseline"), screenshot=files[1], size=(1400, 760))
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
