"""The baseline lr sweep's rule and the plateau epoch, on hand-made curves."""
import pytest

from benchmarks.bench_baseline_lr import choose, largest_drop, plateau_epoch

# issue 20's seed-0 curve of the lr 1e-3 baseline: drops 28.6 -> 19.8 (into epoch 4), 34.3 -> 28.5 -> 26.8
UNSTABLE = [15.5, 24.0, 28.6, 19.8, 33.2, 34.3, 28.5, 26.8, 39.0, 41.1, 42.2, 42.5]


def test_largest_drop_counts_falls_into_epoch_4_and_later():
    assert largest_drop(UNSTABLE) == pytest.approx(8.8)  # 28.6 - 19.8, into epoch 4
    assert largest_drop([10.0, 5.0, 20.0, 21.0, 20.5]) == pytest.approx(0.5)  # the early fall is not counted
    assert largest_drop([10.0, 12.0, 14.0]) == 0.0


def test_plateau_epoch_is_where_the_curve_stays_near_its_final_value():
    assert plateau_epoch([10.0, 30.0, 40.0, 41.5, 42.0, 42.2, 41.9]) == 4  # 41.5.. within 1 of 41.9
    assert plateau_epoch(UNSTABLE) == 11  # 42.2, 42.5 within 1 AP of 42.5; 41.1 at epoch 10 is not
    assert plateau_epoch([10.0, 20.0, 30.0]) is None


def test_choose_prefers_the_best_stable_lr_and_says_when_none_is_stable():
    stable_low = [[10.0, 20.0, 30.0, 31.0, 32.0]]
    stable_high = [[12.0, 25.0, 35.0, 34.0, 36.0]]  # a 1-AP dip: stable
    unstable = [[15.0, 30.0, 40.0, 30.0, 45.0]]  # the best final AP, but a 10-AP drop
    lr, why = choose({1e-4: stable_low, 2e-4: stable_high, 1e-3: unstable})
    assert lr == 2e-4 and "highest mean final AP: 0.0002" in why
    lr, why = choose({1e-3: unstable, 5e-4: [[15.0, 30.0, 40.0, 36.0, 44.0]]})
    assert lr == 5e-4 and "no lr is stable" in why
