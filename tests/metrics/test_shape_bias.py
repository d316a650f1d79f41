from __future__ import annotations

import pandas as pd
import pytest

from psychoalign.metrics import (
    comparison_tables,
    cue_conflict_categories,
    cue_conflict_experiments,
    shape_bias,
)
from psychoalign.trials import TrialDataError
from support import make_trials


def test_shape_bias_by_hand():
    trials = make_trials(
        [
            ("m", "model", "cat1-dog2.png", "cat", "cat"),  # shape
            ("m", "model", "cat2-car1.png", "cat", "cat"),  # shape
            ("m", "model", "dog1-cat3.png", "dog", "dog"),  # shape
            ("m", "model", "dog2-car2.png", "dog", "car"),  # texture
            ("m", "model", "car1-dog1.png", "car", "bird"),  # neither
            ("m", "model", "car2-car3.png", "car", "car"),  # shape == texture: left out
        ],
        experiment="cue-conflict",
    )
    row = shape_bias(trials).iloc[0]
    assert (row.n_trials, row.n_shape, row.n_texture) == (5, 3, 1)
    assert row.shape_bias == 0.75
    assert row.shape_or_texture == 0.8
    assert row.ci_low < 0.75 < row.ci_high
    per_category = shape_bias(trials, per_category=True).set_index("category")
    assert per_category.shape_bias[["cat", "dog"]].tolist() == [1.0, 0.5]
    assert per_category.shape_bias.isna()["car"]  # its one trial was decided by neither cue


def test_human_shape_bias_matches_the_published_value(model_vs_human_trials):
    """Geirhos et al. (2019, 2021): humans decide by shape on about 96 % of such trials."""
    table = shape_bias(model_vs_human_trials.query("experiment == 'cue-conflict'"))
    assert len(table) == 10
    assert table.shape_bias.mean() == pytest.approx(0.96, abs=0.005)
    assert (table.n_trials == 1200).all()  # 1280 trials, 80 with shape == texture


def test_texture_column_wins_over_the_name():
    trials = make_trials([("m", "model", "x.png", "cat", "dog")]).assign(texture="dog")
    assert cue_conflict_categories(trials).texture.tolist() == ["dog"]


def test_names_that_are_not_cue_conflict_are_refused():
    trials = make_trials([("m", "model", "cat1.png", "cat", "dog")])
    with pytest.raises(TrialDataError, match=r"row 0: column 'image' has 'cat1.png'"):
        shape_bias(trials)


def test_cue_conflict_experiments_are_recognised_by_their_image_names():
    conflict = make_trials(
        [
            ("a", "human", "cat1-dog2.png", "cat", "dog"),
            ("a", "human", "dog3-cat1.png", "dog", "dog"),
        ],
        experiment="my-style-transfer",
    )
    plain = make_trials([("a", "human", "cat1.png", "cat", "cat")], experiment="edge")
    # A shape that is not the trial's category is not a cue-conflict name.
    mislabelled = make_trials([("a", "human", "cat1-dog2.png", "dog", "dog")], experiment="odd")
    trials = pd.concat([conflict, plain, mislabelled], ignore_index=True)
    assert cue_conflict_experiments(trials) == ["my-style-transfer"]
    assert cue_conflict_experiments(trials, ["edge"]) == ["edge", "my-style-transfer"]
    with pytest.raises(TrialDataError) as error:
        cue_conflict_experiments(trials, ["cue-conflict"])
    assert str(error.value) == (
        "cue_conflict: experiment 'cue-conflict' is not in the trials (they have edge, "
        "my-style-transfer, odd)."
    )


def test_the_comparison_tables_find_shape_bias_under_any_name(model_vs_human_trials):
    trials = model_vs_human_trials.query("experiment == 'cue-conflict'").assign(
        experiment="renamed"
    )
    tables = comparison_tables(trials)
    assert tables["shape_bias"].experiment.unique().tolist() == ["renamed"]
    assert round(float(tables["shape_bias"].shape_bias.mean()), 2) == 0.96
