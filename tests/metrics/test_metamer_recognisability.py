"""Metamer recognisability on a hand-built experiment with known accuracies."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from psychoalign.metrics.metamers import metamer_recognisability
from psychoalign.stimuli.metamer_sets import join_metamer_set
from support import metamer_trials


def test_accuracies_and_relative_accuracies_are_the_hand_computed_ones():
    table = metamer_recognisability(metamer_trials(), n_boot=200)
    humans = table[table.group == "humans"].set_index("condition")
    assert humans.loc[["natural", "features.2", "features.10"], "accuracy"].tolist() == [
        (1 + 0.75) / 2,
        (0.75 + 0.5) / 2,
        (0.25 + 0) / 2,
    ]
    assert humans.loc["features.10", "relative_accuracy"] == pytest.approx(0.125 / 0.875)
    assert (humans.n_observers == 2).all() and (humans.n_trials == 8).all()
    model = table[table.group == "resnet"].set_index("condition")
    assert model.loc[["natural", "features.2", "features.10"], "accuracy"].tolist() == [
        1,
        0.5,
        0.25,
    ]
    assert model.loc["features.2", "relative_accuracy"] == 0.5
    # Wilson interval of 2/4: (0.15, 0.85) by hand
    assert model.loc["features.2", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.1500, 0.8500], abs=1e-3
    )
    assert table.metamer_model.unique().tolist() == ["net-metamers"]


def test_layers_are_ordered_natural_first_then_by_depth():
    table = metamer_recognisability(metamer_trials(), n_boot=200)
    order = table[table.group == "humans"].sort_values("position").condition.tolist()
    assert order == ["natural", "features.2", "features.10"]
    with pytest.raises(ValueError, match=r"condition 'features\.10' of the trials is not listed"):
        metamer_recognisability(metamer_trials(), layers=["features.2"])


def test_the_human_interval_is_a_bootstrap_over_participants():
    table = metamer_recognisability(metamer_trials(), n_boot=2000, seed=1)
    row = table[(table.group == "humans") & (table.condition == "features.2")].iloc[0]
    # two participants at 0.75 and 0.5: resampled means lie in {0.5, 0.625, 0.75}
    assert row.ci_low == 0.5 and row.ci_high == 0.75
    assert np.isclose(row.accuracy, 0.625)


def test_a_metamer_model_column_separates_the_models():
    trials = metamer_trials()
    trials["metamer_model"] = np.where(trials.index % 2 == 0, "a", "b")
    table = metamer_recognisability(trials, n_boot=100)
    assert sorted(table.metamer_model.unique()) == ["a", "b"]


def _with_stimuli(trials):
    return trials.assign(stimulus=trials.condition + "/img" + trials.image.astype(str) + ".png")


def test_a_metamer_set_names_the_model_and_its_failed_metamers_are_left_out():
    trials = _with_stimuli(metamer_trials())
    manifest = trials.drop_duplicates("stimulus")[["stimulus", "condition"]].assign(
        model="net", valid="True"
    )
    manifest.loc[manifest.stimulus == "features.10/img3.png", "valid"] = "False"
    table = metamer_recognisability(join_metamer_set(trials, manifest), n_boot=100)
    assert table.metamer_model.unique().tolist() == ["net"]
    late = table[table.condition == "features.10"].set_index("group")
    # image 3 at features.10 is dropped: s1 [0, 0, 0], s2 [0, 0, 0], resnet [1, 0, 0]
    assert late.loc["humans", "accuracy"] == 0.0 and late.loc["humans", "n_trials"] == 6
    assert late.loc["resnet", "accuracy"] == pytest.approx(1 / 3)
    kept = metamer_recognisability(
        join_metamer_set(trials, manifest, include_failed=True), n_boot=100
    )
    assert kept[kept.condition == "features.10"].set_index("group").loc["resnet", "n_trials"] == 4


def test_an_empty_metamer_model_falls_back_to_the_experiment():
    trials = metamer_trials().assign(metamer_model="")
    trials.loc[trials.index % 2 == 0, "metamer_model"] = "a"
    table = metamer_recognisability(trials, n_boot=100)
    assert sorted(table.metamer_model.unique()) == ["a", "net-metamers"]


def test_catch_trials_are_not_counted():
    trials = metamer_trials().assign(trial_type="main")
    catch = trials.iloc[:3].assign(trial_type="catch", correct=False)
    table = metamer_recognisability(pd.concat([trials, catch]), n_boot=100)
    natural = table[(table.group == "humans") & (table.condition == "natural")].iloc[0]
    assert natural.accuracy == (1 + 0.75) / 2 and natural.n_trials == 8


def test_the_manifest_rules_moved_to_stimuli_and_the_old_names_warn():
    old = importlib.import_module("psychoalign.metrics.metamers")
    new = importlib.import_module("psychoalign.stimuli.metamer_sets")
    for name in ("valid_metamers", "NATURAL"):
        with pytest.warns(DeprecationWarning, match=rf"metrics\.metamers\.{name} moved to"):
            assert getattr(old, name) is getattr(new, name)
