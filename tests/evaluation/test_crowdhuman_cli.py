"""``python -m dsla.evaluation.crowdhuman GT DT`` prints one JSON object; bad input exits 2."""
import json
import subprocess
import sys

from dsla.evaluation.crowdhuman import evaluate_files, main
from dsla.evaluation.detections import write_odgt
from dsla.evaluation.random_crowd import random_crowd_records


def test_module_cli_prints_the_four_fractions_as_json(tmp_path):
    gt_records, dt_records = random_crowd_records(8, seed=3)
    gt = write_odgt(tmp_path / "gt.odgt", gt_records)
    dt = write_odgt(tmp_path / "dt.odgt", dt_records)
    done = subprocess.run([sys.executable, "-m", "dsla.evaluation.crowdhuman", str(gt), str(dt)],
                          capture_output=True, text=True, check=True, timeout=300)
    assert "found in sys.modules" not in done.stderr  # runpy's double-import warning
    printed = json.loads(done.stdout)
    assert set(printed) == {"AP", "MR2", "JI", "Recall"}
    assert printed == evaluate_files(gt, dt)
    assert all(0 <= value <= 1 for value in printed.values())


def test_cli_reports_bad_input_on_stderr_with_exit_code_2(tmp_path, capsys):
    gt_records, dt_records = random_crowd_records(2, seed=3)
    gt = write_odgt(tmp_path / "gt.odgt", gt_records)
    dt_records[1]["dtboxes"][0]["score"] = float("nan")
    dt = write_odgt(tmp_path / "dt.odgt", dt_records)
    assert main([str(gt), str(dt)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "dt.odgt:2 (ID 'img000001'): dtboxes[0] has a non-finite score" in captured.err
