from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from psychoalign.metrics import behavioural_consistency, behavioural_signature
from psychoalign.metrics.rajalingham import _subject_halves, _trial_halves
from psychoalign.trials import TrialDataError
from support import make_trials

# Four human trials per image, 3 categories x 2 images; na counts in the denominator.
RESPONSES = {
    ("cat1.png", "cat"): ["cat", "cat", "cat", "dog"],
    ("cat2.png", "cat"): ["cat", "cat", "dog", "car"],
    ("dog1.png", "dog"): ["dog", "dog", "dog", "dog"],
    ("dog2.png", "dog"): ["dog", "dog", "cat", "na"],
    ("car1.png", "car"): ["car", "car", "car", "cat"],
    ("car2.png", "car"): ["car", "car", "car", "car"],
}


@pytest.fixture
def hand_trials() -> pd.DataFrame:
    rows = [
        (f"s{subject}", "human", image, category, responses[subject])
        for (image, category), responses in RESPONSES.items()
        for subject in range(4)
    ]
    return make_trials(rows)


def dprime(hit: float, false_alarm: float) -> float:
    return float(np.clip(norm.ppf(hit) - norm.ppf(false_alarm), -5, 5))


def test_o1_by_hand(hand_trials):
    table = behavioural_signature(hand_trials, "O1").set_index("category")
    # HR(cat) = 5/8; FAR(cat) = cat answers to the 16 dog and car trials = 2/16.
    expected = {"cat": (5 / 8, 2 / 16), "dog": (6 / 8, 2 / 16), "car": (7 / 8, 1 / 16)}
    for category, (hit, false_alarm) in expected.items():
        assert table.loc[category, "hit_rate"] == pytest.approx(hit)
        assert table.loc[category, "false_alarm_rate"] == pytest.approx(false_alarm)
        assert table.loc[category, "value"] == pytest.approx(dprime(hit, false_alarm))
    assert table.observer.unique().tolist() == ["humans"]


def test_i1_and_i1n_by_hand(hand_trials):
    table = behavioural_signature(hand_trials, "I1n").set_index("image")
    cat1, cat2 = dprime(0.75, 2 / 16), dprime(0.5, 2 / 16)
    assert table.loc["cat1.png", "dprime"] == pytest.approx(cat1)
    assert table.loc["dog1.png", "dprime"] == 5.0  # HR = 1 gives +inf, clipped
    assert table.loc["cat1.png", "value"] == pytest.approx(cat1 - (cat1 + cat2) / 2)
    assert table.loc["cat2.png", "value"] == pytest.approx(cat2 - (cat1 + cat2) / 2)


def test_i2_by_hand(hand_trials):
    table = behavioural_signature(hand_trials, "I2").set_index(["image", "distractor"])
    assert len(table) == 6 * 2
    # cat1 vs dog: HR = 1 - P(dog | cat1) = .75; FAR = P(cat | dog images) = 1/8.
    assert table.loc[("cat1.png", "dog"), ["hit_rate", "false_alarm_rate"]].tolist() == [
        0.75,
        0.125,
    ]
    assert table.loc[("cat1.png", "dog"), "value"] == pytest.approx(dprime(0.75, 1 / 8))
    # dog2 vs cat: HR = 1 - 1/4; FAR = P(dog | cat images) = 2/8.
    assert table.loc[("dog2.png", "cat"), "value"] == pytest.approx(dprime(0.75, 0.25))
    assert table.loc[("cat1.png", "car"), "value"] == 5.0


def test_i2n_subtracts_the_category_mean_per_distractor(hand_trials):
    i2 = behavioural_signature(hand_trials, "I2").set_index(["image", "distractor"]).value
    i2n = behavioural_signature(hand_trials, "I2n").set_index(["image", "distractor"]).value
    mean = (i2[("cat1.png", "dog")] + i2[("cat2.png", "dog")]) / 2
    assert i2n[("cat1.png", "dog")] == pytest.approx(i2[("cat1.png", "dog")] - mean)


def test_o2_by_hand(hand_trials):
    table = behavioural_signature(hand_trials, "o2").set_index(["category", "distractor"])
    # cat vs dog: HR = 1 - P(dog | cat images) = 6/8; FAR = P(cat | dog images) = 1/8.
    assert table.loc[("cat", "dog"), "value"] == pytest.approx(dprime(6 / 8, 1 / 8))
    assert table.loc[("dog", "cat"), "value"] == pytest.approx(dprime(1 - 1 / 8, 2 / 8))


def test_unknown_metric_is_named(hand_trials):
    with pytest.raises(TrialDataError, match=r"metric: 'I3' is not a behavioural metric"):
        behavioural_signature(hand_trials, "I3")


def test_trial_halves_are_balanced_per_item():
    items = np.repeat(np.arange(5), [4, 5, 2, 1, 6])
    halves = _trial_halves(items, 30, np.random.default_rng(0))
    for code, count in enumerate([4, 5, 2, 1, 6]):
        in_half_one = halves[:, items == code].sum(axis=1)
        assert set(in_half_one) <= {count // 2, (count + 1) // 2}
    assert 0 < halves.mean() < 1


def test_subject_halves_keep_each_subject_whole():
    subjects = np.repeat(np.arange(6), 10)
    halves = _subject_halves(subjects, 20, np.random.default_rng(0))
    per_subject = halves.reshape(20, 6, 10)
    assert (per_subject.min(axis=2) == per_subject.max(axis=2)).all()
    assert (per_subject[:, :, 0].sum(axis=1) == 3).all()


def test_consistency_with_identical_reference_halves_is_the_plain_correlation(hand_trials):
    """Two identical observers: r(h0, h1) = 1, so the corrected value is r(model, observer)."""
    pooled = hand_trials.assign(observer="pool", trial=np.arange(len(hand_trials)) + 1)
    model = hand_trials.query("observer == 's2'").assign(observer="m", observer_kind="model")
    trials = pd.concat([pooled, pooled.assign(observer="pool-copy"), model], ignore_index=True)
    table = behavioural_consistency(trials, "O2", split="subjects", n_splits=5, seed=0)
    signatures = behavioural_signature(trials, "O2", pool_humans=False)
    reference = signatures.query("observer == 'pool'").value.to_numpy()
    model_signature = signatures.query("observer == 'm'").value.to_numpy()
    valid = np.isfinite(reference) & np.isfinite(model_signature)
    expected = np.corrcoef(reference[valid], model_signature[valid])[0, 1]
    row = table.iloc[0]
    assert row.reference_reliability == pytest.approx(1.0)
    assert row.consistency == pytest.approx(expected)
    assert row.observer_reliability == 1.0 and row.n_valid_splits == 5


def _simulated(seed: int = 0, n_categories: int = 6, n_images: int = 20, n_subjects: int = 30):
    """Humans and two stochastic models; 'twin' answers from the humans' own distributions."""
    rng = np.random.default_rng(seed)
    categories = [f"c{i}" for i in range(n_categories)]

    def distributions():
        table = []
        for c in range(n_categories):
            for _ in range(n_images):
                right = rng.beta(2, 1.2)
                wrong = rng.dirichlet(np.full(n_categories - 1, 0.5)) * (1 - right)
                table.append(np.insert(wrong, c, right))
        return np.array(table)

    truth, other = distributions(), distributions()
    images = [f"{categories[c]}_{k}.png" for c in range(n_categories) for k in range(n_images)]
    labels = [categories[c] for c in range(n_categories) for _ in range(n_images)]
    rows = []
    for name, kind, repeats, probabilities in (
        *((f"s{s:02d}", "human", 1, truth) for s in range(n_subjects)),
        ("twin", "model", n_subjects, truth),
        ("stranger", "model", n_subjects, other),
    ):
        for _ in range(repeats):
            draws = (rng.random(len(images))[:, None] > np.cumsum(probabilities, axis=1)).sum(
                axis=1
            )
            rows += [
                (name, kind, image, label, categories[min(d, n_categories - 1)])
                for image, label, d in zip(images, labels, draws, strict=True)
            ]
    return make_trials(rows, experiment="simulated")


@pytest.mark.parametrize("metric", ["I1n", "I2n"])
def test_noise_correction_recovers_known_agreement(metric):
    table = behavioural_consistency(_simulated(), metric, n_splits=40, seed=1).set_index("observer")
    assert table.loc["twin", "consistency"] == pytest.approx(1.0, abs=0.1)
    assert table.loc["stranger", "consistency"] == pytest.approx(0.0, abs=0.15)
    # Both models are stochastic: the objectome formula splits them too.
    assert (table.observer_reliability < 1).all()
    assert table.loc["twin", "raw_correlation"] < table.loc["twin", "consistency"]


def test_consistency_is_seeded_and_reports_its_split(edge_trials):
    humans = sorted(edge_trials.observer.unique())
    args = dict(metric="I1n", reference=humans[:5], split="subjects", n_splits=10)
    first = behavioural_consistency(edge_trials, seed=4, **args)
    pd.testing.assert_frame_equal(first, behavioural_consistency(edge_trials, seed=4, **args))
    assert first.observer.tolist() == humans[5:]
    assert (first.split == "subjects").all() and (first.metric == "I1n").all()


def test_subject_split_needs_two_reference_observers(hand_trials):
    trials = hand_trials.assign(
        observer_kind=np.where(hand_trials.observer == "s0", "human", "model")
    )
    with pytest.raises(TrialDataError, match=r"splitting over subjects needs at least two"):
        behavioural_consistency(trials, "O1", split="subjects")
