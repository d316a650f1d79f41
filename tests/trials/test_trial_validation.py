"""validate_trials: every problem named by row (or file and row) and column, nothing converted."""

from __future__ import annotations

import pandas as pd
import pytest

from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES, TrialDataError, validate_trials
from support import make_trials


def test_an_observer_has_one_kind():
    table = make_trials(
        [("a", "human", "x.png", "cat", "cat"), ("a", "model", "y.png", "dog", "dog")]
    )
    with pytest.raises(
        TrialDataError,
        match=r"row 1: column 'observer_kind' has 'model' but observer 'a' is 'human' at row 0",
    ):
        validate_trials(table)


def test_validate_names_row_and_column_of_a_frame():
    table = make_trials(
        [("a", "human", "x.png", "cat", "cat"), ("a", "human", "y.png", "dog", "cat")]
    )
    table.loc[1, "correct"] = True
    with pytest.raises(
        TrialDataError, match=r"^row 1: column 'correct' has True, which contradicts"
    ):
        validate_trials(table)


def test_validate_refuses_text_numbers_instead_of_converting():
    table = make_trials([("a", "human", "x.png", "cat", "cat")]).astype({"session": object})
    table.loc[0, "session"] = "1"
    with pytest.raises(TrialDataError, match=r"column 'session' has '1', not a whole number"):
        validate_trials(table)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("trial", 0, "must be a whole number of at least 1"),
        ("rt", -0.2, "non-negative"),
        ("image", "", "non-empty text"),
        ("condition", float("nan"), "non-empty text"),
    ],
)
def test_validate_rejects_bad_values(column, value, message):
    table = make_trials([("a", "human", "x.png", "cat", "cat")])
    table[column] = pd.Series([value], dtype=object if isinstance(value, str) else None)
    with pytest.raises(TrialDataError, match=rf"row 0: column '{column}'.*{message}"):
        validate_trials(table)


def test_categories_per_experiment():
    table = make_trials([("a", "human", "x.png", "cat", "dog")])
    validate_trials(table, categories={"toy": ["cat", "dog"]})
    validate_trials(table, categories={"other": ["bird"]})
    with pytest.raises(TrialDataError, match=r"not one of the 2 categories of experiment 'toy'"):
        validate_trials(table, categories={"toy": ["cat", "bird"]})


def test_real_data_passes_with_the_16_categories(edge_trials):
    validate_trials(edge_trials, categories=MODEL_VS_HUMAN_CATEGORIES, paired=True)
