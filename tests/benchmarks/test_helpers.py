"""The shared benchmark helpers: interleaved timing, results sections, convergence epochs."""
import pytest

from benchmarks.bench_convergence import epochs_to_95, verdict
from benchmarks.bench_pipeline import stage_counts
from benchmarks.common import Goal, Section, interleaved, load_note, ratio_goal


def test_interleaved_alternates_order_and_skips_warmup():
    calls = []
    timings = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                          repeats=3, warmup=1)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(timings[n].wall) for n in "ab"] == [3, 3]
    assert all(t >= 0 for n in "ab" for t in timings[n].cpu)


def test_interleaved_refuses_zero_repeats():
    with pytest.raises(ValueError, match="repeats"):
        interleaved({"a": lambda: None}, repeats=0)


@pytest.mark.parametrize("curve, expected", [
    ([0.1, 0.5, 0.9, 1.0], 4),  # 0.9 < 0.95 of 1.0
    ([0.1, 0.5, 0.95, 1.0], 3),  # exactly 95 % counts
    ([0.96, 0.2, 1.0], 1),  # the first reach counts, even before a dip
    ([0.0, 0.0], None),  # nothing to converge to
    ([], None),
])
def test_epochs_to_95(curve, expected):
    assert epochs_to_95(curve) == expected


def test_verdict_needs_every_seed_faster():
    assert verdict(0.7, [0.6, 0.8])[0] is True
    holds, sentence = verdict(0.9, [0.6, 1.2])
    assert not holds and "only on average" in sentence
    holds, sentence = verdict(1.1, [1.1])
    assert not holds and "does NOT hold" in sentence


def test_ratio_goal_directions():
    assert ratio_goal("x", 1.02, 1.03).met is True
    assert ratio_goal("x", 1.04, 1.03).met is False
    assert ratio_goal("x", 12.0, 10.0, at_most=False).met is True
    assert ratio_goal("x", 9.0, 10.0, at_most=False).target == ">= 10x"


def test_section_round_trip_and_markdown():
    section = Section("T", "cmd", machine={"cpu": "c", "cores": 2, "torch_threads": 1,
                                           "torch": "t", "python": "p", "load": 3.0})
    section.goals.append(Goal("speed", "2.0x", ">= 10x", False))
    section.table(("a", "b"), [(1, "x|y")])
    section.notes.append("n")
    again = Section.from_dict(section.to_dict())
    assert again == section
    text = again.markdown()
    assert "| speed | 2.0x | >= 10x | NOT met |" in text
    assert "x\\|y" in text and "UNDER LOAD" in text


def test_load_note_discounts_the_benchmark_itself():
    assert "UNDER LOAD" in load_note(4.0, 2, own_threads=1)
    assert "quiet" in load_note(1.2, 2, own_threads=1)
    assert "UNDER LOAD" in load_note(1.2, 2)


def test_stage_counts_parses_pipeline_summary():
    out = "...\npipeline: 0 stages ran, 32 reused, 0 failed, 0 skipped, 0 busy elsewhere, in 2 s\n"
    assert stage_counts(out) == {"ran": 0, "reused": 32, "failed": 0, "skipped": 0}
    assert stage_counts("no summary") is None


def test_round_ratios_and_spread():
    from benchmarks.common import Timing, round_ratios, spread

    a, b = Timing(cpu=[2.0, 3.0, 4.0, 5.0]), Timing(cpu=[1.0, 1.0, 2.0, 5.0])
    assert round_ratios(a, b) == [2.0, 3.0, 2.0, 1.0]
    assert spread([1.0, 2.0, 3.0, 4.0, 5.0]) == "1.500–4.500"
    assert spread([1.0]) == "-"
