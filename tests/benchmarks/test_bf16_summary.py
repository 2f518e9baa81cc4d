"""The paired interval that decides whether bf16 stays an opt-in (reports/benchmarks.md 11d)."""
import pytest

from benchmarks.bench_bf16 import t_interval


def test_t_interval_of_the_three_paired_seeds():
    mean, low, high = t_interval([-0.51, -1.19, 1.37])  # bf16 - fp32 AP points, seeds 0-2
    assert mean == pytest.approx(-0.11, abs=1e-9)
    # half-width t(2, 0.975) * sd / sqrt(3) = 4.303 * 1.3266 / 1.7321
    assert high - mean == pytest.approx(mean - low)
    assert high - mean == pytest.approx(3.296, abs=2e-3)


def test_t_interval_needs_two_differences():
    with pytest.raises(ValueError, match="at least two differences, got 1"):
        t_interval([0.5])
