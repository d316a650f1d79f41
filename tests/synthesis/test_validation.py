"""Validation of metamers: the decision, the activation match against the null, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from psychoalign.models import ModelObserver
from psychoalign.models.features import activations, feature_extractor
from psychoalign.stimuli import StimulusSetError
from psychoalign.stimuli.images import to_uint8
from psychoalign.synthesis import initial_noise, null_distribution, validate

LAYER = "_blocks.1"


def test_early_layer_metamers_validate(lite0, naturals, null, synthesised):
    start, final = synthesised.losses[:, 0], synthesised.final_loss
    assert synthesised.losses.shape == (3, 200) and synthesised.metamers.shape == naturals.shape
    assert (start > 1.0).all() and (final < 0.5 * start).all()
    shown = to_uint8(synthesised.metamers).astype(np.float32) / 255  # as written to PNG
    table = validate(lite0, LAYER, naturals, shown, null=null)
    assert list(table.columns) == [
        "layer",
        "natural_decision",
        "metamer_decision",
        "same_decision",
        "spearman",
        "null_max",
        "final_loss",
        "valid",
    ]
    assert table.natural_decision.tolist() == ["clock", "chair", "keyboard"]
    assert table.same_decision.all() and table.valid.all()
    assert (table.spearman > table.null_max).all() and table.null_max.iloc[0] == null.max()
    np.testing.assert_allclose(table.final_loss, final, rtol=0.02)  # 8-bit rounding aside
    # rho is scipy's Spearman correlation of the layer's activations.
    both = activations(ModelObserver(lite0), np.stack([shown[0], naturals[0]]), [LAYER])[LAYER]
    expected = spearmanr(both[0].ravel(), both[1].ravel()).statistic
    assert table.spearman.iloc[0] == pytest.approx(expected, abs=1e-6)


def test_a_metamer_that_has_not_converged_is_flagged_not_dropped(lite0, naturals, null):
    noise = initial_noise(naturals.shape, seed=0)
    table = validate(lite0, LAYER, naturals, noise, null=null)
    assert len(table) == 3 and not table.valid.any()
    assert (table.spearman < table.null_max).all()


def test_a_built_extractor_gives_the_same_null_and_validation(lite0, naturals):
    extractor = feature_extractor(lite0, [LAYER])
    plain = null_distribution(lite0, LAYER, naturals, n_pairs=2, seed=1)
    given = null_distribution(lite0, LAYER, naturals, n_pairs=2, seed=1, extractor=extractor)
    assert plain.shape == (2,) and np.array_equal(plain, given)
    noise = initial_noise(naturals[:1].shape, seed=0)
    first = validate(lite0, LAYER, naturals[:1], noise, null=plain)
    again = validate(lite0, LAYER, naturals[:1], noise, null=plain, extractor=extractor)
    assert first.equals(again)


def test_bad_validation_input_is_refused_in_one_sentence(lite0, naturals):
    with pytest.raises(StimulusSetError, match=r"^images: the null distribution needs at least"):
        null_distribution(lite0, LAYER, naturals[:1])
    with pytest.raises(StimulusSetError, match=r"^n_pairs: 0 must be a whole number of at le"):
        null_distribution(lite0, LAYER, naturals, n_pairs=0)
    with pytest.raises(StimulusSetError, match=r"^metamers: shape \(2, 224, 224, 3\) differs"):
        validate(lite0, LAYER, naturals, naturals[:2], null=[0.5])
    with pytest.raises(StimulusSetError, match=r"^null: needs at least one finite correlation"):
        validate(lite0, LAYER, naturals, naturals, null=[])
