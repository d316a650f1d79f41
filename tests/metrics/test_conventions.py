"""One name per concept across the analysis side: ``confidence``, one ``n_boot`` default."""

from __future__ import annotations

import inspect

import pytest

from psychoalign import metrics, stats
from psychoalign._checks import DEFAULT_N_BOOT
from psychoalign.errors import ParameterError, TrialDataError
from support import make_trials

#: Every function of metrics and stats that reports an interval (clickmaps and metamers
#: aside: their owners follow suit).
WITH_INTERVALS = [
    metrics.accuracy,
    metrics.shape_bias,
    metrics.error_consistency,
    metrics.image_accuracy_correlation,
    stats.psychometric_fit,
    stats.threshold_comparison,
    stats.mixed_model,
]
#: n_boot = 0 means "no interval" here by design (the default skips the bootstrap).
WITHOUT_BOOTSTRAP_BY_DEFAULT = [metrics.error_consistency, metrics.comparison_tables]


def _parameters(function) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(inspect.unwrap(function)).parameters)


@pytest.mark.parametrize("function", WITH_INTERVALS, ids=lambda f: f.__name__)
def test_the_coverage_is_called_confidence_and_defaults_to_95_percent(function):
    parameters = _parameters(function)
    assert parameters["confidence"].default == 0.95
    assert not {"ci", "level", "alpha", "coverage"} & set(parameters)


def test_one_bootstrap_default_wherever_the_bootstrap_is_on_by_default():
    defaults = {
        function.__name__: _parameters(function)["n_boot"].default
        for function in (metrics.image_accuracy_correlation, stats.psychometric_fit)
    }
    assert set(defaults.values()) == {DEFAULT_N_BOOT} == {1000}
    for function in WITHOUT_BOOTSTRAP_BY_DEFAULT:
        assert _parameters(function)["n_boot"].default == 0
        assert "by design" in " ".join(inspect.getdoc(function).split())


@pytest.mark.parametrize(
    "function", [metrics.accuracy, metrics.error_consistency], ids=lambda f: f.__name__
)
def test_a_coverage_outside_0_1_is_refused(function):
    trials = make_trials([("s1", "human", "a.png", "cat", "cat")])
    with pytest.raises(ParameterError, match=r"^confidence: 95 must be a number in \(0, 1\)\.$"):
        function(trials, confidence=95)


def test_a_negative_bootstrap_count_is_refused():
    trials = make_trials([("s1", "human", "a.png", "cat", "cat")])
    with pytest.raises(ParameterError, match=r"^n_boot: -1 must be a whole number of at least 0\."):
        metrics.error_consistency(trials, n_boot=-1)


def test_split_halves_keep_their_error_class_and_the_one_phrasing():
    trials = make_trials([("s1", "human", "a.png", "cat", "cat")])
    with pytest.raises(TrialDataError, match=r"^n_splits: 0 must be a whole number of at least 1"):
        metrics.behavioural_consistency(trials, n_splits=0)
    with pytest.raises(TrialDataError, match=r"n_splits: 2.5 must be a whole number"):
        metrics.behavioural_consistency(trials, n_splits=2.5)
