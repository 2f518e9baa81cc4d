"""`run_all --only NAME` in a checkout without the other benchmarks' kept results must not replace
the report's other sections by "not measured yet" (it did: reports/benchmarks.md lost sections 1-10)."""
from __future__ import annotations

from benchmarks import run_all
from benchmarks.common import Goal, Section


def tiny_measure(quick: bool = False) -> Section:
    section = Section("tiny", "python -m benchmarks.run_all --only tiny", measured_at="now")
    section.goals.append(Goal("ratio", "1.0x", ">= 1x", True))
    return section


def run(monkeypatch, tmp_path, benchmarks: dict):
    monkeypatch.setattr(run_all, "BENCHMARKS", benchmarks)
    monkeypatch.setattr(run_all, "RESULTS", tmp_path / "kept" / "results.json")
    monkeypatch.setattr(run_all, "HAND_MEASURED", ())
    monkeypatch.setattr(run_all, "run_section", lambda measure, **kwargs: measure())
    # (the real ones silence mmengine's loggers and set torch's threads for the whole process: other
    # tests read those loggers)
    monkeypatch.setattr(run_all, "quiet", lambda: None)
    monkeypatch.setattr(run_all, "set_threads", lambda threads: None)
    report = tmp_path / "benchmarks.md"
    report.write_text("# the report, with sections measured elsewhere\n")
    run_all.main(["--only", "tiny", "--out", str(report)])
    return report


def test_only_one_benchmark_without_the_others_kept_leaves_the_report_and_writes_beside(monkeypatch, tmp_path):
    report = run(monkeypatch, tmp_path, {"tiny": tiny_measure, "other": tiny_measure})
    assert report.read_text() == "# the report, with sections measured elsewhere\n"
    assert "## tiny" in (tmp_path / "kept" / "report.md").read_text()


def test_with_every_benchmark_kept_the_report_is_rewritten(monkeypatch, tmp_path):
    report = run(monkeypatch, tmp_path, {"tiny": tiny_measure})
    assert "## tiny" in report.read_text() and "not measured" not in report.read_text().lower()
