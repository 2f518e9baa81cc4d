"""`pipeline run --launcher slurm` on the real one-node cluster of scripts/slurm.sh.

Every training is one Slurm job whose step 0 runs the worker under `srun`; `sacct` (slurmdbd) is
the witness: the steps are there, two trainings overlap in time with `--jobs 2`, and the MLflow
runs and stage results of the Slurm run have the shape (and, one thread per training either way,
the values) of an in-process run. A job cancelled with `scancel` mid-training fails its stage with
a message naming the job, and the next run resumes it from its checkpoint.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.digest import REPO_ROOT
from pipeline.runtime.launch import slurm_jobs

pytestmark = pytest.mark.slow


def sacct(job_ids: list[str], timeout: float = 60) -> dict[str, dict]:
    """sacct's rows of these jobs and their steps by JobID, once every job's step 0 has ended
    (accounting reaches slurmdbd a moment after the job)."""
    fields = ["JobID", "JobName", "State", "ExitCode", "Start", "End", "NCPUS", "NTasks"]
    deadline = time.time() + timeout
    while True:
        done = subprocess.run(["sacct", "-n", "-P", "-j", ",".join(job_ids), "-o", ",".join(fields)],
                              capture_output=True, text=True, check=True)
        rows = {line.split("|")[0]: dict(zip(fields, line.split("|"))) for line in done.stdout.splitlines()}
        steps = [rows.get(f"{job}.0") for job in job_ids]
        if all(step and step["End"] not in ("Unknown", "") for step in steps):
            return rows
        if time.time() > deadline:
            raise AssertionError(f"sacct did not list the ended step 0 of jobs {job_ids} within {timeout} s: {rows}")
        time.sleep(1)


def mlflow_shape(folder: Path) -> dict:
    """Every MLflow run of the run in `folder` by (experiment, stage node, table row): status, params
    (the folder itself replaced by a placeholder), metric history lengths, artifacts and tag names —
    what a user sees in the UI, without ids and times."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    shape = {}
    for run in client.search_runs(list(experiments), max_results=1000):
        tags = run.data.tags
        name = (experiments[run.info.experiment_id], tags.get("dsla.node"), tags.get("dsla.row"))
        assert name not in shape, f"two MLflow runs for {name}"
        shape[name] = {
            "status": run.info.status,
            "params": {k: v.replace(str(folder), "<folder>") for k, v in run.data.params.items()},
            # system/* metrics are sampled by wall clock (MLflow's monitor): how many depends on how long a
            # run took, not on what it recorded
            "metrics": {m: len(client.get_metric_history(run.info.run_id, m)) for m in run.data.metrics
                        if not m.startswith("system/")},
            "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
            "tags": sorted(tags),
        }
    return shape


def results(folder: Path) -> dict[str, dict]:
    """The stage records of a run by stage name (the store's `result.json`)."""
    out = {}
    for path in sorted((folder / ".pipeline").glob("*/result.json")):
        record = json.loads(path.read_text())
        assert record["node"] not in out, f"two records of {record['node']}"
        out[record["node"]] = record
    return out


def skeleton(value):
    """The shape of a JSON value: dict keys and list lengths kept, leaves replaced by their type."""
    if isinstance(value, dict):
        return {k: skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v) for v in value]
    return type(value).__name__


def run_table4(folder: Path, *extra: str) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    mp = pytest.MonkeyPatch()
    mp.chdir(folder)
    try:
        return cli.main(["run", "table4", "--profile", "smoke", "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}",
                         "--no-progress", "--jobs", "2", *extra])
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def table4_runs(tmp_path_factory, slurm_partition):
    """Table 4 (smoke) once through Slurm and once in process, each in a fresh folder."""
    root = tmp_path_factory.mktemp("table4")
    slurm = run_table4(root / "slurm", "--launcher", "slurm", "--slurm-partition", slurm_partition)
    local = run_table4(root / "local")
    return {"slurm": root / "slurm", "local": root / "local", "codes": (slurm, local)}


def train_dirs(folder: Path) -> list[Path]:
    return sorted(p.parent for p in (folder / "work_dirs").glob("*/epochs.jsonl"))


def test_table4_trains_every_row_as_a_slurm_job_step_two_at_a_time(table4_runs):
    assert table4_runs["codes"] == (0, 0)
    trainings = train_dirs(table4_runs["slurm"])
    assert len(trainings) == 5, "Table 4 has five rows (the paper's four and the prior-matched baseline), one training each"
    jobs = {}
    for work_dir in trainings:
        ids = slurm_jobs(work_dir)
        assert len(ids) == 1, f"{work_dir.name}: trained by Slurm jobs {ids}, expected exactly one"
        jobs[work_dir] = ids[0]
        launch_log = (work_dir / "launch-slurm.log").read_text()
        assert launch_log.startswith("$ srun -p "), launch_log[:300]
        assert "--gres" not in launch_log.splitlines()[0], "a request without GPUs must not ask for --gres"
        assert "Distributed launcher: slurm" in "".join(p.read_text() for p in work_dir.glob("*/*.log"))
    rows = sacct(list(jobs.values()))
    for job in jobs.values():
        step = rows[f"{job}.0"]
        assert step["State"] == "COMPLETED" and step["ExitCode"] == "0:0", step
        assert rows[job]["JobName"].startswith("train:"), rows[job]
        assert step["NCPUS"] == "1", "two trainings on two cores: one CPU per task"
    spans = sorted((datetime.fromisoformat(rows[f"{j}.0"]["Start"]), datetime.fromisoformat(rows[f"{j}.0"]["End"]))
                   for j in jobs.values())
    overlaps = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:] if b[0] < a[1]]
    assert overlaps, f"no two training steps ran at the same time with --jobs 2: {spans}"
    local_trainings = train_dirs(table4_runs["local"])
    assert not any(slurm_jobs(w) for w in local_trainings) and not list(table4_runs["local"].glob("work_dirs/*/launch-*"))


def test_the_slurm_run_records_what_an_in_process_run_records(table4_runs, monkeypatch, capsys):
    assert table4_runs["codes"] == (0, 0)
    slurm, local = mlflow_shape(table4_runs["slurm"]), mlflow_shape(table4_runs["local"])
    assert sorted(slurm, key=str) == sorted(local, key=str), "the two runs made different MLflow runs"
    assert sum(name[1].startswith("train:") for name in slurm if name[1]) == 5
    for name in local:
        assert slurm[name] == local[name], f"MLflow run {name} differs between Slurm and in process"
    slurm_results, local_results = results(table4_runs["slurm"]), results(table4_runs["local"])
    assert sorted(slurm_results) == sorted(local_results) and len(local_results) >= 10
    for key, record in local_results.items():
        assert record["status"] == slurm_results[key]["status"] == "done"
        assert skeleton(slurm_results[key]["result"]) == skeleton(record["result"]), key
        if isinstance(record["result"].get("epochs"), list):  # same seed, data and one thread each: the same training
            for ours, theirs in zip(slurm_results[key]["result"]["epochs"], record["result"]["epochs"]):
                assert ours == pytest.approx(theirs, abs=1e-6), key
    monkeypatch.chdir(table4_runs["slurm"])  # the launcher is no part of a key: in process, nothing runs again
    capsys.readouterr()
    assert cli.main(["run", "table4", "--profile", "smoke", "--dry-run"]) == 0
    assert "\n0 of 12 stages would run; 12 are cached." in capsys.readouterr().out


KILLABLE_RUN = """
import json, pickle, sys
from pipeline import engine
from pipeline.engine.store import ResultStore
node = pickle.load(open(sys.argv[1], "rb"))
report = engine.run([node], ResultStore(".pipeline"), settings=json.loads(sys.argv[2]))
outcome = report.outcomes[node.key]
print(json.dumps({"status": outcome.status, "error": outcome.error}))
"""


def test_a_cancelled_job_fails_its_stage_with_a_message_and_the_next_run_resumes_it(tmp_path, monkeypatch,
                                                                                    slurm_partition):
    from experiments.tables import Train
    from pipeline import engine
    from pipeline.engine.store import DONE, FAILED, ResultStore
    from pipeline.graph import Pipeline

    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").train(Train("crowdhuman", "baseline"))
    work_dir = tmp_path / "work_dirs" / node.key
    settings = {"progress": False, "launcher": "slurm", "partition": slurm_partition, "gpus": 0, "threads": 1}
    (tmp_path / "node.pkl").write_bytes(pickle.dumps(node))  # the very node (and key) resumed below
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen([sys.executable, "-c", KILLABLE_RUN, "node.pkl", json.dumps(settings)], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    epochs_file = work_dir / "epochs.jsonl"
    deadline = time.time() + 300
    while not (epochs_file.exists() and epochs_file.read_text().strip()):
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise AssertionError(f"no validated epoch 1 before the pipeline ended: {process.communicate()}")
        time.sleep(0.1)
    [job] = slurm_jobs(work_dir)
    subprocess.run(["scancel", job], check=True)
    out, _ = process.communicate(timeout=120)
    assert not (work_dir / "epoch_2.pth").exists(), "epoch 2 finished before scancel: nothing was left to resume"
    outcome = json.loads(out.strip().splitlines()[-1])
    assert outcome["status"] == FAILED, outcome
    assert outcome["error"].startswith(f"LaunchError: Slurm job {job} was cancelled at "), outcome["error"]
    assert "resumes it from epoch_1.pth" in outcome["error"], outcome["error"]
    assert sacct([job])[f"{job}.0"]["State"] == "CANCELLED"
    store = ResultStore(".pipeline")
    assert store.load(node.key).status == FAILED

    report = engine.run([node], store, settings=settings)
    assert report.outcomes[node.key].status == DONE, report.outcomes[node.key].error
    result = report.outcomes[node.key].result
    assert [e["epoch"] for e in result["epochs"]] == [1, 2], "epoch 1's record survives the cancel"
    first, second = slurm_jobs(work_dir)
    assert first == job and second != job, "the resumed training is a new Slurm job"
    logs = "".join(p.read_text() for p in work_dir.glob("*/*.log"))
    assert "resumed epoch: 1" in logs
    assert Path(result["checkpoint"]).name == "epoch_2.pth"


def test_two_cpu_tasks_of_one_slurm_step_train_one_model_with_gloo(tmp_path, monkeypatch, slurm_partition):
    import math

    from experiments.tables import Train
    from pipeline import engine, profiles
    from pipeline.engine.store import DONE, ResultStore
    from pipeline.graph import Pipeline

    monkeypatch.chdir(tmp_path)
    node = Pipeline("smoke").train(Train("crowdhuman", "dsla_fs"))
    settings = {"progress": False, "launcher": "slurm", "partition": slurm_partition, "gpus": 0, "nproc": 2,
                "cpus_per_task": 1}
    report = engine.run([node], ResultStore(".pipeline"), settings=settings)
    outcome = report.outcomes[node.key]
    assert outcome.status == DONE, outcome.error
    work_dir = tmp_path / "work_dirs" / node.key
    logs = "".join(p.read_text() for p in work_dir.glob("*/*.log"))
    assert "Distributed launcher: slurm" in logs and "GPU number: 2" in logs, \
        (work_dir / "launch-slurm.log").read_text()[-2000:]  # world size 2
    data = profiles.SYNTHETIC["smoke"]["crowdhuman"]
    train_images = data["num_images"] - round(data["num_images"] * data["val_fraction"])  # 4 per batch and task
    assert f"Epoch(train) [1][{math.ceil(train_images / 8)}/{math.ceil(train_images / 8)}]" in logs, \
        "the two tasks split each epoch's images"
    assert len((work_dir / "epochs.jsonl").read_text().splitlines()) == 2, "only rank 0 writes the epoch records"
    [job] = slurm_jobs(work_dir)
    step = sacct([job])[f"{job}.0"]
    assert (step["NTasks"], step["State"]) == ("2", "COMPLETED"), step
