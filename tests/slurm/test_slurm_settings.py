"""Slurm settings are checked against the cluster before any work: a one-line error, exit 2."""
from __future__ import annotations

import pytest

from pipeline import cli


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """`pipeline run table4 --profile smoke --launcher slurm ARGS` in an empty folder: (code, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run_with(*args: str) -> tuple[int, str]:
        try:
            code = cli.main(["run", "table4", "--profile", "smoke", "--no-progress", "--jobs", "2",
                             "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", *args])
        except SystemExit as exc:  # argparse refuses a bad option value
            code = exc.code
        err = capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir()) == [], "an invalid run must not start any work"
        return code, err

    return run_with


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_slurm_without_a_partition_names_the_clusters_partitions(run, slurm_partition):
    code, err = run("--launcher", "slurm")
    assert code == 2
    assert one_line(err) == ("pipeline run: --launcher slurm needs --slurm-partition "
                             f"(this cluster's partitions: {slurm_partition})")


def test_an_unknown_partition_is_refused(run, slurm_partition):
    code, err = run("--launcher", "slurm", "--slurm-partition", "nosuch")
    assert code == 2 and "--slurm-partition nosuch: no such partition" in one_line(err)


def test_gpus_on_a_partition_without_gpus_are_refused_before_srun_would(run, slurm_partition):
    code, err = run("--launcher", "slurm", "--slurm-partition", slurm_partition, "--gpus", "1")
    assert code == 2
    assert f"partition {slurm_partition} has no GPUs" in one_line(err) and "--gpus 0" in err


def test_more_cpus_per_task_than_a_node_has_are_refused(run, slurm_partition):
    code, err = run("--launcher", "slurm", "--slurm-partition", slurm_partition, "--slurm-cpus-per-task", "4096")
    assert code == 2 and "4096 CPUs per task requested" in one_line(err)


@pytest.mark.parametrize("args, message", [
    (("--gpus", "-1"), "argument --gpus: must be at least 0, got -1"),
    (("--slurm-cpus-per-task", "0"), "argument --slurm-cpus-per-task: must be at least 1, got 0"),
])
def test_impossible_counts_are_refused(run, slurm_partition, args, message):
    code, err = run("--launcher", "slurm", "--slurm-partition", slurm_partition, *args)
    assert code == 2 and one_line(err) == f"pipeline run: error: {message} (see pipeline run --help)"


def test_slurm_options_without_the_slurm_launcher_are_refused(run):
    code, err = run("--slurm-partition", "debug", "--gpus", "2")
    assert code == 2
    assert one_line(err) == "pipeline run: --gpus, --slurm-partition only apply to --launcher slurm (the launcher is none)"
