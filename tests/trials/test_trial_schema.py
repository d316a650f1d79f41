"""The schema: columns and dtypes as DESIGN.md section 2 pins them, column and level lookups."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import psychoalign.errors
from psychoalign.trials import (
    MODEL_VS_HUMAN_CATEGORIES,
    NO_RESPONSE,
    OPTIONAL_COLUMNS,
    TRIAL_COLUMNS,
    TrialDataError,
    level_values,
    require_columns,
)


def test_required_columns_in_design_order():
    assert list(TRIAL_COLUMNS) == [
        "experiment",
        "observer",
        "observer_kind",
        "session",
        "trial",
        "stimulus",
        "image",
        "condition",
        "category",
        "response",
        "correct",
        "rt",
    ]
    assert (TRIAL_COLUMNS["correct"], TRIAL_COLUMNS["rt"]) == ("bool", "float64")
    assert set(OPTIONAL_COLUMNS) >= {"block", "onset_s", "clicks"}
    assert NO_RESPONSE == "na"
    assert len(MODEL_VS_HUMAN_CATEGORIES) == 16 and "elephant" in MODEL_VS_HUMAN_CATEGORIES


def test_trial_data_error_is_the_one_from_psychoalign_errors():
    assert TrialDataError is psychoalign.errors.TrialDataError


def test_require_columns_names_the_parameter_and_the_columns():
    table = pd.DataFrame({"observer": ["a"], "image": ["x.png"]})
    require_columns(table, ["observer", "image"])
    with pytest.raises(TrialDataError) as error:
        require_columns(table, ["observer", "condition"], parameter="group_by")
    assert str(error.value) == (
        "group_by: column 'condition' is not in the trial table (it has observer, image)."
    )


def test_level_values_read_numbers_behind_a_prefix():
    values = level_values(["0.90", "c05", "1e-2", "inf", " 3 "])
    assert values[:3].tolist() == [0.9, 5.0, 0.01]
    assert math.isinf(values[3]) and values[4] == 3.0


def test_level_values_from_a_mapping_and_refusals():
    assert level_values(["true", "false"], {"true": 1, "false": 0}).tolist() == [1.0, 0.0]
    with pytest.raises(TrialDataError, match=r"^levels: condition 'x' has no value"):
        level_values(["x"], {"true": 1})
    with pytest.raises(
        TrialDataError, match=r"^column 'condition' has 'true', which is not a numeric level"
    ):
        level_values(["true"])
