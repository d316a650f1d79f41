from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from psychoalign.metrics import image_accuracy_correlation
from psychoalign.trials import TrialDataError
from support import make_trials

# Per-image pattern of right (1) and wrong (0) answers of four humans.
HUMANS = {"a.png": "1111", "b.png": "1110", "c.png": "1100", "d.png": "1000", "e.png": "0000"}


def _trials(model_bits: dict[str, str], humans: dict[str, str] = HUMANS) -> pd.DataFrame:
    rows = []
    for image, bits in humans.items():
        for subject, bit in enumerate(bits):
            rows.append((f"s{subject}", "human", image, "cat", "cat" if bit == "1" else "dog"))
    for image, bits in model_bits.items():
        for bit in bits:
            rows.append(("m", "model", image, "cat", "cat" if bit == "1" else "dog"))
    return make_trials(rows)


def test_rho_is_spearman_of_per_image_accuracy():
    model = {"a.png": "11", "b.png": "10", "c.png": "11", "d.png": "00", "e.png": "01"}
    row = image_accuracy_correlation(_trials(model), n_boot=50).iloc[0]
    expected = spearmanr([1, 0.75, 0.5, 0.25, 0], [1, 0.5, 1, 0, 0.5]).statistic
    assert row.rho == pytest.approx(expected)
    assert (row.observer, row.n_images, row.score) == ("m", 5, "accuracy")


def test_ceiling_is_one_when_all_humans_agree():
    identical = {image: bits[0] * 4 for image, bits in HUMANS.items()}
    row = image_accuracy_correlation(
        _trials({"a.png": "1", "e.png": "0", "c.png": "1"}, identical), n_boot=50
    ).iloc[0]
    assert (row.ceiling, row.ceiling_low, row.ceiling_high) == (1.0, 1.0, 1.0)


def test_decision_scores_replace_correctness():
    trials = _trials({image: "1" for image in HUMANS})
    scores = [0.9, 0.2, 0.5, 0.4, 0.1]
    probabilities = pd.DataFrame(
        {"observer": "m", "stimulus": list(HUMANS), "category": "cat", "probability": scores}
    )
    row = image_accuracy_correlation(trials, probabilities=probabilities, n_boot=50).iloc[0]
    assert row.score == "probability"
    assert row.rho == pytest.approx(spearmanr([1, 0.75, 0.5, 0.25, 0], scores).statistic)


def test_bootstrap_interval_and_ceiling_on_real_data(edge_trials):
    as_model = edge_trials.assign(
        observer_kind=np.where(edge_trials.observer == "subject-01", "model", "human")
    )
    table = image_accuracy_correlation(as_model, n_boot=300, seed=2)
    again = image_accuracy_correlation(as_model, n_boot=300, seed=2)
    pd.testing.assert_frame_equal(table, again)
    row = table.iloc[0]
    assert row.n_images == 160
    assert row.ci_low < row.rho < row.ci_high
    assert row.ceiling_low < row.ceiling < row.ceiling_high
    # A single human agrees with the other nine less than two halves of them do.
    assert 0 < row.rho < row.ceiling


def test_unknown_reference_is_named():
    with pytest.raises(TrialDataError, match=r"reference: 'monkey'"):
        image_accuracy_correlation(_trials({"a.png": "1"}), reference="monkey")
