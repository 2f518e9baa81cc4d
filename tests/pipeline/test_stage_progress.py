"""The stages line: an ETA from costs measured in the run (a training's epochs so far), at most
80 columns, no stray comma, and plain lines (no `\\r`) when the output is not a terminal."""
from __future__ import annotations

import io

from pipeline.commands import run as run_command
from pipeline.graph import Pipeline
from pipeline.runtime.stage_progress import StageProgress


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Node:
    def __init__(self, name, kind):
        self.name, self.kind = name, kind


def test_eta_comes_from_the_epochs_a_running_training_finished_then_from_measured_stages():
    clock = Clock()
    first, second = Node("train:a" + "x" * 150, "train"), Node("train:b", "train")
    epochs = {first: (0, 4), second: (0, 4)}
    progress = StageProgress([first, second], kind=lambda n: n.kind, epochs=lambda n: epochs.get(n),
                             stream=io.StringIO(), tty=True, now=clock, refresh=0)
    progress.start(first)
    assert progress.eta() is None and "ETA ?" in progress.status(), "no guess before anything is measured"
    clock.t, epochs[first] = 100.0, (2, 4)  # 50 s per epoch
    assert progress.eta() == 100.0 + 4 * 50.0
    clock.t = 200.0
    progress.finish(first, "done    train:a 200s")
    assert progress.eta() == 200.0, "the next training costs what the first measured"
    line = progress.status()
    assert len(line) <= 80 and line.startswith("stages 1/2") and ", ," not in line and not line.startswith(",")


def test_a_long_running_name_keeps_the_eta_on_an_80_column_line():
    stream = io.StringIO()
    node = Node("train:crowdhuman/dsla_fs/K=10/t_min=0.4/t_max=0.7/lambda_o2o=2.0/seed2" * 3, "train")
    progress = StageProgress([node], kind=lambda n: n.kind, stream=stream, tty=True, now=Clock(), refresh=0)
    progress.start(node)
    assert len(progress.status()) <= 80 and progress.status().endswith("ETA ?")


def test_piped_output_is_plain_lines(capsys):
    pipeline = Pipeline("smoke")
    train = pipeline.train(pipeline.tables["table4"].rows[0].source)
    items = [type("Item", (), {"action": "run", "node": train})()]
    listener = run_command._progress(items, enabled=True)  # stderr is captured: not a terminal
    listener("start", train, None)
    listener("finish", train, type("Outcome", (), {"status": "done", "error": None, "seconds": 3.0})())
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err, repr(err)
    assert err.splitlines() == [f"done    {train.name} 3s (1/1 stages, ETA 0:00)"]


def test_what_a_run_leaves_in_the_folder_is_ignored_by_git(tmp_path):
    import subprocess

    from pipeline import REPO_ROOT
    names = ["mlflow.db", "mlflow.db.lock", ".pipeline/last_seeds", "work_dirs/x/epoch_1.pth"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=REPO_ROOT, capture_output=True, text=True)
    assert sorted(done.stdout.split()) == sorted(names), done.stdout


def test_a_trainings_epoch_bar_writes_nothing_into_a_pipe(capsys):
    from types import SimpleNamespace

    from pipeline.runtime.progress import EpochProgressHook

    hook = EpochProgressHook("train:x")
    runner = SimpleNamespace(max_epochs=2, epoch=0)
    hook.before_train(runner)
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, {"crowdhuman/AP": 0.1})
    hook.after_train(runner)
    assert capsys.readouterr().err == "", "a \\r bar went into a file or pipe"


def test_an_unmeasured_evaluation_does_not_hide_the_eta():
    clock = Clock()
    train, evaluate = Node("train:a", "train"), Node("evaluate:a", "evaluate")
    progress = StageProgress([train, evaluate], kind=lambda n: n.kind, stream=io.StringIO(), tty=False, now=clock)
    progress.start(train)
    clock.t = 30.0
    progress.finish(train, "done    train:a 30s")
    assert progress.eta() == 0.0 and "ETA 0:00" in progress.status()
