"""The sweep benchmark's replay: a search over recorded trainings pays epochs as the live pipeline
does (a pruned point resumes from its checkpoint, a finished point is a cached result)."""
import math

import optuna
import pytest

from benchmarks.bench_sweep import Point, Trace, describe, make_sampler, replay, shares


class Sequence(optuna.samplers.BaseSampler):
    """Proposes K from a fixed list, trial by trial (the test decides the search's order)."""

    def __init__(self, ks):
        self.ks = ks

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, name, distribution):
        return self.ks[trial.number]


# A: weak at first (pruned by the threshold after epoch 1), best in the end; B: steady.
A = Point((("K", 4),), curve=(40.0, 60.0, 80.0), final=81.0)
B = Point((("K", 6),), curve=(60.0, 70.0, 75.0), final=76.0)
THRESHOLD = {"type": "ThresholdPruner", "lower": 0.5}  # prune a trial whose AP fraction is < 0.5


def test_pruned_point_resumes_and_finished_point_is_cached():
    trace = replay([A, B], Sequence([4, 6, 4, 6]), THRESHOLD, "hand", trials=4)
    # A: epoch 1 (0.40 < 0.5) pruned -> 1 epoch; B: 3 epochs, complete at 76 -> 4;
    # A again: resumes at epoch 2 (0.60, 0.80 pass) -> 6, complete at 81; B again: cached -> 6
    assert trace.steps == [(1, None), (4, 76.0), (6, 81.0), (6, 76.0)]
    assert trace.epochs_to(81.0 - 0.3) == 6
    assert trace.epochs_to(76.0) == 4
    assert trace.epochs_to(90.0) == math.inf


def test_no_pruner_trains_every_epoch():
    trace = replay([A, B], Sequence([4, 6]), None, "hand", trials=2)
    assert trace.steps == [(3, 81.0), (6, 76.0)]


def test_grid_sampler_visits_each_point_once():
    trace = replay([A, B], make_sampler("grid", 0, [A, B]), None, "grid", trials=10)
    assert len(trace.steps) == 2 and trace.steps[-1][0] == 6
    assert sorted(v for _, v in trace.steps) == [76.0, 81.0]


def test_shares_and_their_distribution():
    traces = [Trace([(2, None), (5, 80.0)]), Trace([(3, 76.0)]), Trace([(4, None)]), Trace([(1, 81.0)])]
    found = shares(traces, 79.0, grid_epochs=10)
    assert found == [0.5, math.inf, math.inf, 0.1]
    median, iqr, extremes, within = describe(found)
    assert median == "never"  # two of four never got there: the median is not finite
    assert extremes == "0.10–never (2 never)"
    assert within == "1 of 4"


def test_unknown_sampler_is_named():
    with pytest.raises(ValueError, match="unknown sampler 'bayes'"):
        make_sampler("bayes", 0, [A, B])
