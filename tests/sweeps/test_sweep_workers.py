"""Optuna mechanics of the sweeps with a fake objective: workers sharing one study (SQLite and
PostgreSQL), failed trials, killed workers, resuming, budgets and pruning — and their MLflow runs."""
from __future__ import annotations

import collections
import os
import signal
import time
from multiprocessing import get_context

import optuna
import pytest
from fake_objective import FakeObjective, calls
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from pipeline.sweeps.runner import PARENT_RUN, SweepSetup, run_sweep

PAPER_K = list(range(4, 11))


def make_setup(kind, storage, mlflow_uri, **changes) -> SweepSetup:
    return SweepSetup(**{"kind": kind, "profile": "smoke", "storage": storage, "study_name": "test-study",
                         "tracking_uri": mlflow_uri, **changes})


def load(setup):
    return optuna.load_study(study_name=setup.study_name, storage=setup.storage)


def states(study) -> collections.Counter:
    return collections.Counter(t.state.name for t in study.get_trials())


def child_runs(mlflow_uri, study):
    client = MlflowClient(mlflow_uri)
    parent = study.user_attrs[PARENT_RUN]
    experiment = client.get_run(parent).info.experiment_id
    return client, client.get_run(parent), client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")


def run_in_processes(setups_and_objectives, timeout=240):
    context = get_context("spawn")
    processes = [context.Process(target=run_sweep, args=pair) for pair in setups_and_objectives]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout)
    assert [p.exitcode for p in processes] == [0] * len(processes)


def assert_grid_done_once(setup, log, mlflow_uri):
    """Every point of the paper's K grid: exactly one complete trial, one objective call, one
    finished MLflow child run; nothing left running or queued."""
    study = load(setup)
    assert states(study) == {"COMPLETE": len(PAPER_K)}
    assert sorted(t.params["K"] for t in study.get_trials()) == PAPER_K
    made = calls(log)
    assert sorted(c["params"]["K"] for c in made) == PAPER_K, "a point was run twice or not at all"
    client, parent, children = child_runs(mlflow_uri, study)
    assert parent.data.tags["dsla.stage"] == "sweep" and parent.info.status == "FINISHED"
    assert sorted(int(r.data.params["trial"]) for r in children) == list(range(len(PAPER_K)))
    assert {r.info.status for r in children} == {"FINISHED"}
    assert {r.data.tags["optuna.state"] for r in children} == {"COMPLETE"}
    return made


@pytest.mark.slow  # two fresh processes importing MLflow: ~30 s
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_workers_started_by_hand_share_one_grid_study(backend, request, tmp_path, mlflow_uri):
    storage = request.getfixturevalue(f"{backend.replace('postgresql', 'postgres')}_storage")
    setup = make_setup("k", storage, mlflow_uri)
    log = str(tmp_path / "calls.jsonl")
    objective = FakeObjective(log, epochs=3, epoch_seconds=0.3)
    run_in_processes([(setup, objective), (setup, objective)])
    made = assert_grid_done_once(setup, log, mlflow_uri)
    assert len({c["pid"] for c in made}) == 2, "one worker did all the work: the test proves nothing"


@pytest.mark.slow
def test_n_jobs_workers_spend_exactly_the_search_budget(tmp_path, sqlite_storage, mlflow_uri):
    setup = make_setup("search", sqlite_storage, mlflow_uri, trials=6, startup_trials=2)
    log = str(tmp_path / "calls.jsonl")
    result = run_sweep(setup, FakeObjective(log, epochs=2, epoch_seconds=0.2), n_jobs=2)
    study = load(setup)
    assert states(study) == {"COMPLETE": 6}
    assert len(calls(log)) == 6 and len({c["pid"] for c in calls(log)}) == 2
    assert all(t.params["t_min"] <= t.params["t_max"] for t in study.get_trials())
    assert result["finished"] and result["best"]["value"] == max(t.value for t in study.get_trials())


def test_a_failing_trial_is_recorded_failed_and_the_sweep_goes_on(tmp_path, sqlite_storage, mlflow_uri):
    setup = make_setup("k", sqlite_storage, mlflow_uri)
    result = run_sweep(setup, FakeObjective(str(tmp_path / "calls.jsonl"), fail_at={"K": 5}))
    study = load(setup)
    assert states(study) == {"COMPLETE": 6, "FAIL": 1} and result["errors"] == 1
    [failed] = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert failed.params == {"K": 5} and "FloatingPointError: loss_sla_cls is not finite" in failed.user_attrs["error"]
    client, parent, children = child_runs(mlflow_uri, study)
    [failed_run] = [r for r in children if r.info.status == "FAILED"]
    assert failed_run.data.params["K"] == "5" and failed_run.data.tags["optuna.state"] == "FAIL"
    assert "loss_sla_cls is not finite" in failed_run.data.tags["dsla.error"]
    assert parent.data.tags["best.K"] == "7"


@pytest.mark.slow
def test_a_killed_workers_trial_is_detected_and_run_again(tmp_path, sqlite_storage, mlflow_uri):
    setup = make_setup("k", sqlite_storage, mlflow_uri, grid="smoke", heartbeat_interval=1, grace_period=2)
    context = get_context("spawn")
    doomed = context.Process(target=run_sweep, args=(setup, FakeObjective(str(tmp_path / "hang.jsonl"), hang=True)))
    doomed.start()
    deadline = time.time() + 120
    while not calls(tmp_path / "hang.jsonl"):  # the worker is inside its first trial
        assert time.time() < deadline and doomed.is_alive(), "the worker never started a trial"
        time.sleep(0.2)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join()
    [stuck] = load(setup).get_trials()
    assert stuck.state == TrialState.RUNNING
    time.sleep(setup.grace_period + 1)

    log = str(tmp_path / "calls.jsonl")
    result = run_sweep(setup, FakeObjective(log))
    study = load(setup)
    trials = study.get_trials()
    assert states(study) == {"FAIL": 1, "COMPLETE": 2} and result["finished"]
    assert trials[0].state == TrialState.FAIL and trials[0].number == stuck.number
    [retry] = [t for t in trials if t.system_attrs.get("failed_trial") == stuck.number]
    assert retry.state == TrialState.COMPLETE and retry.params == stuck.params
    assert sorted(t.params["K"] for t in trials if t.state == TrialState.COMPLETE) == [4, 6]
    assert sorted(c["params"]["K"] for c in calls(log)) == [4, 6]
    client, _, children = child_runs(mlflow_uri, study)
    [killed] = [r for r in children if r.data.params["trial"] == str(stuck.number)]
    assert killed.info.status == "KILLED" and "abandoned" in killed.data.tags["dsla.error"]
    [rerun] = [r for r in children if r.data.params["trial"] == str(retry.number)]
    assert rerun.info.status == "FINISHED" and rerun.data.tags["optuna.retry_of"] == str(stuck.number)


def test_resuming_runs_only_what_is_missing(tmp_path, sqlite_storage, mlflow_uri):
    log = str(tmp_path / "calls.jsonl")
    grid = make_setup("k", sqlite_storage, mlflow_uri, grid="smoke")
    run_sweep(grid, FakeObjective(log))
    again = run_sweep(grid, FakeObjective(log))
    assert len(calls(log)) == 2 and again["finished"] and len(load(grid).get_trials()) == 2

    search = make_setup("search", sqlite_storage, mlflow_uri, study_name="search", trials=3, startup_trials=2)
    run_sweep(search, FakeObjective(log))
    first = [(t.params, t.value) for t in load(search).get_trials()]
    run_sweep(make_setup("search", sqlite_storage, mlflow_uri, study_name="search", trials=5, startup_trials=2),
              FakeObjective(log))
    trials = load(search).get_trials()
    assert len(trials) == 5 and [(t.params, t.value) for t in trials[:3]] == first
    assert len(calls(log)) == 2 + 5


def test_a_study_resumes_only_with_the_sweep_it_was_created_for(tmp_path, sqlite_storage, mlflow_uri):
    run_sweep(make_setup("k", sqlite_storage, mlflow_uri, grid="smoke"), FakeObjective(str(tmp_path / "c.jsonl")))
    with pytest.raises(ValueError, match="was created for .*'kind': 'k'.*resume it with the same options"):
        run_sweep(make_setup("temps", sqlite_storage, mlflow_uri, grid="smoke"), FakeObjective(str(tmp_path / "c.jsonl")))


def test_pruned_trials_stop_early_and_are_recorded_pruned(tmp_path, sqlite_storage, mlflow_uri):
    pruner = {"type": "MedianPruner", "n_startup_trials": 2, "n_warmup_steps": 0}
    setup = make_setup("search", sqlite_storage, mlflow_uri, trials=8, startup_trials=3, pruner=pruner)
    result = run_sweep(setup, FakeObjective(str(tmp_path / "calls.jsonl"), epochs=4, epoch_seconds=0))
    study = load(setup)
    pruned = [t for t in study.get_trials() if t.state == TrialState.PRUNED]
    assert pruned, "the median pruner pruned nothing"
    assert all(t.user_attrs["epochs_trained"] == t.user_attrs["pruned_at_epoch"] < 4 for t in pruned)
    complete = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert result["epochs"] == 4 * len(complete) + sum(t.user_attrs["pruned_at_epoch"] for t in pruned)
    client, parent, children = child_runs(mlflow_uri, study)
    stopped = [r for r in children if r.data.tags["optuna.state"] == "PRUNED"]
    assert len(stopped) == len(pruned) and {r.info.status for r in stopped} == {"FINISHED"}, \
        "a pruned trial's run must not read as a failure"
    assert {r.data.tags.get("optuna.pruned") for r in stopped} == {"true"}
    assert all("optuna.pruned" not in r.data.tags for r in children if r.data.tags["optuna.state"] == "COMPLETE")
    history = client.get_metric_history(stopped[0].info.run_id, "val/AP")
    assert len(history) == int(stopped[0].data.tags["optuna.pruned_at_epoch"])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert {"plots/optimization_history.png", "plots/intermediate_values.png"} <= artifacts
    assert study.metric_names == ["AP"], "the objective is named, not 'Objective 0'"
