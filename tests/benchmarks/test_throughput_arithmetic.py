"""bench_throughput's arithmetic, on numbers worked by hand."""
import pytest

from benchmarks.bench_throughput import (
    epochs_per_hour,
    gemm_flops,
    gflops_per_second,
    images_per_second,
    training_step_flops,
    validation_share,
)


def test_gemm_flops_count_a_multiply_and_an_add_per_term():
    assert gemm_flops(1) == 2
    assert gemm_flops(10) == 2_000  # 10 x 10 outputs, each 10 products and 10 sums
    assert gemm_flops(2048) == 17_179_869_184


def test_gflops_per_second():
    assert gflops_per_second(17_179_869_184, 0.25) == pytest.approx(68.719476736)
    assert gflops_per_second(3e9, 0.5) == pytest.approx(6.0)


def test_images_per_second_and_its_bad_input():
    assert images_per_second(192, 19.2) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="seconds must be > 0"):
        images_per_second(192, 0.0)


def test_validation_share_of_a_figure_4_epoch():
    # an epoch trains 18 s and validates 2 s: 2 / 20
    assert validation_share(18.0, 2.0) == pytest.approx(0.10)
    # the numbers: 20 s of training, 10 s for 200 curve images -> a third
    assert validation_share(20.0, 10.0) == pytest.approx(1 / 3)


def test_epochs_per_hour():
    # 20 s train + 10 s validation per epoch: 3600 / 30
    assert epochs_per_hour(20.0, 10.0) == pytest.approx(120.0)
    # validated once per 12 epochs: 3600 / (20 + 10/12)
    assert epochs_per_hour(20.0, 10.0, val_every=12) == pytest.approx(3600 / 20.8333333333)
    # two cores, two trainings: twice the epochs
    assert epochs_per_hour(20.0, 10.0, cores=2) == pytest.approx(240.0)


def test_training_step_flops_count_no_backward_for_frozen_layers():
    # 5 GFLOP forward, 2 of them in frozen layers: backward 2 x 3 -> 11 in all
    assert training_step_flops(5e9, 2e9) == pytest.approx(11e9)
    assert training_step_flops(5e9, 0.0) == pytest.approx(15e9)  # nothing frozen: 3 x forward
