from __future__ import annotations

import pytest

from psychoalign.metrics import accuracy
from psychoalign.metrics._stats import wilson_interval
from support import make_trials


def test_accuracy_by_hand():
    trials = make_trials(
        [
            ("a", "human", "x.png", "cat", "cat"),
            ("a", "human", "y.png", "dog", "na"),
            ("a", "human", "z.png", "dog", "dog"),
            ("m", "model", "x.png", "cat", "dog"),
        ]
    )
    table = accuracy(trials)
    assert table.columns.tolist() == [
        "experiment",
        "condition",
        "observer",
        "observer_kind",
        "n_trials",
        "n_correct",
        "accuracy",
        "ci_low",
        "ci_high",
    ]
    a = table.set_index("observer").loc["a"]
    assert (a.n_trials, a.n_correct, a.accuracy) == (3, 2, pytest.approx(2 / 3))
    assert table.set_index("observer").loc["m"].accuracy == 0.0


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score).
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes, trials, low, high):
    computed = wilson_interval(successes, trials)
    assert computed[0] == pytest.approx(low, abs=5e-5)
    assert computed[1] == pytest.approx(high, abs=5e-5)


def test_uniform_noise_human_accuracy_per_level(model_vs_human_trials):
    noise = model_vs_human_trials.query("experiment == 'uniform-noise'")
    table = accuracy(noise)
    sums = table.groupby("condition")[["n_correct", "n_trials"]].sum()
    per_level = sums.n_correct / sums.n_trials
    assert per_level.round(3).tolist() == [0.797, 0.834, 0.764, 0.770, 0.647, 0.398, 0.148, 0.070]
    assert ((table.ci_low <= table.accuracy) & (table.accuracy <= table.ci_high)).all()
