"""`pipeline train` keeps the rules and manners of `pipeline run`: the knob rules (K >= 1,
T^min <= T^max) refuse a config in one line with exit 2, the password of a tracking URI is hidden
in every line it prints, and Ctrl-C / SIGTERM is one line, not mmengine's traceback."""
from __future__ import annotations

import pytest

from pipeline import cli, engine
from pipeline.engine import interrupts

CONFIG = "experiments/configs/smoke/dsla_crowdhuman.py"
SECRET = "Sentinel5ecretPW"


@pytest.mark.parametrize("options, says", [
    (["model.bbox_head.num_soft_anchors=0"], "K=0"),
    (["model.bbox_head.t_min=0.7", "model.bbox_head.t_max=0.3"], "T^min must not exceed T^max"),
])
def test_pipeline_train_refuses_what_pipeline_run_refuses(tmp_path, monkeypatch, capsys, options, says):
    monkeypatch.setattr(engine, "run", lambda *a, **k: pytest.fail("a refused config must not train"))
    code = cli.main(["train", CONFIG, "--cfg-options", *options, "--tracking-uri", f"sqlite:///{tmp_path}/m.db"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and says in err and "Traceback" not in err, err


def _fake_run(status):
    def run(nodes, store, **kwargs):
        [node] = nodes
        result = {"final": {"AP": 0.5, "epoch": 1}, "epochs": [{}], "work_dir": "work_dirs/x",
                  "checkpoint": "work_dirs/x/epoch_1.pth", "run_id": "abc"}
        report = engine.RunReport()
        report.outcomes[node.key] = engine.Outcome(node, status, result=result)
        return report
    return run


def test_pipeline_train_prints_no_password(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "run", _fake_run(engine.DONE))
    monkeypatch.setattr("pipeline.tracking.check_reachable", lambda uri, timeout=5.0: None)
    monkeypatch.setattr("pipeline.tracking.Tracker", lambda uri, profile: object())
    code = cli.main(["train", str(__import__("pipeline").REPO_ROOT / CONFIG), "--profile", "smoke", "--tracking-uri",
                     f"http://user:{SECRET}@127.0.0.1:1/"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert SECRET not in out + err and "user:***@127.0.0.1" in out


@pytest.mark.parametrize("signal_name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_pipeline_train_interrupted_is_one_line(tmp_path, monkeypatch, capsys, signal_name, code):
    monkeypatch.chdir(tmp_path)

    def interrupted(*args, **kwargs):
        monkeypatch.setattr(interrupts, "_signal_name", signal_name)
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run", interrupted)
    monkeypatch.setattr("pipeline.tracking.check_reachable", lambda uri, timeout=5.0: None)
    monkeypatch.setattr("pipeline.tracking.Tracker", lambda uri, profile: object())
    import signal
    previous = signal.getsignal(signal.SIGTERM)
    try:
        result = cli.main(["train", str(__import__("pipeline").REPO_ROOT / CONFIG), "--profile", "smoke",
                           "--tracking-uri", f"sqlite:///{tmp_path}/m.db"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped `pipeline train` (a traceback)")
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert result == code and err.strip().count("\n") == 0 and "Traceback" not in err, err
