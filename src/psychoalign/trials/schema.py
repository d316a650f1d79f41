"""The schema of the trial table: its columns and dtypes, fixed values, and column lookups.

One row per trial, for human and model observers alike (docs/DESIGN.md section 2). The
required columns are :data:`TRIAL_COLUMNS`, the optional ones with a fixed meaning
:data:`OPTIONAL_COLUMNS`; :func:`psychoalign.trials.validate_trials` checks a table
against them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError

__all__ = [
    "MODEL_VS_HUMAN_CATEGORIES",
    "NO_RESPONSE",
    "OBSERVER_KINDS",
    "OPTIONAL_COLUMNS",
    "TRIAL_COLUMNS",
    "TrialDataError",
    "level_values",
    "require_columns",
]

#: Required columns and their pandas dtypes, in the order they are written.
TRIAL_COLUMNS: dict[str, str] = {
    "experiment": "str",
    "observer": "str",
    "observer_kind": "str",
    "session": "int64",
    "trial": "int64",
    "stimulus": "str",
    "image": "str",
    "condition": "str",
    "category": "str",
    "response": "str",
    "correct": "bool",
    "rt": "float64",
}

#: Optional columns with a fixed meaning (docs/DESIGN.md section 2) and their dtypes.
OPTIONAL_COLUMNS: dict[str, str] = {
    "block": "Int64",
    "onset_s": "float64",
    "stim_frames": "Int64",
    "mask_frames": "Int64",
    "dropped_frames": "Int64",
    "seed": "Int64",
    "clicks": "str",
}

#: The response of an observer who gave no answer in time; it counts as wrong.
NO_RESPONSE = "na"

OBSERVER_KINDS = ("human", "model")

#: The 16 entry-level categories of Geirhos et al. (2018, 2019, 2021).
MODEL_VS_HUMAN_CATEGORIES = (
    "airplane",
    "bear",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "car",
    "cat",
    "chair",
    "clock",
    "dog",
    "elephant",
    "keyboard",
    "knife",
    "oven",
    "truck",
)

#: The 17 datasets of the model-vs-human benchmark (Geirhos et al. 2021).
MODEL_VS_HUMAN_DATASETS = (
    "colour",
    "contrast",
    "cue-conflict",
    "edge",
    "eidolonI",
    "eidolonII",
    "eidolonIII",
    "false-colour",
    "high-pass",
    "low-pass",
    "phase-scrambling",
    "power-equalisation",
    "rotation",
    "silhouette",
    "sketch",
    "stylized",
    "uniform-noise",
)

#: The task's category list: one list for every experiment, or experiment -> list.
Categories = Sequence[str] | Mapping[str, Sequence[str]]

_STRING_COLUMNS = tuple(name for name, dtype in TRIAL_COLUMNS.items() if dtype == "str")
_TRIAL_KEY = ("experiment", "observer", "session", "trial")
# Provenance carried through reading so that every error can name file and row.
_SOURCE, _ROW = "_source", "_row"
_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
_LABEL_NUMBER = re.compile(r"^[A-Za-z_-]*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?|inf)$")


def _as_text(values: pd.Series) -> pd.Series:
    """Text column whose missing values stay missing (pandas 2 would write them 'nan')."""
    if _PANDAS_3:
        return values.astype("str")
    return values.astype(object).where(values.notna(), np.nan)


def require_columns(trials: pd.DataFrame, columns: Sequence[str], parameter: str = "by") -> None:
    """Fail with one sentence when ``columns`` are not all in the trial table.

    ``parameter`` is the argument that named the columns (the sentence starts with it).

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"observer": ["a"]}), ["observer"])
    >>> require_columns(pd.DataFrame({"observer": ["a"]}), ["condition"])
    Traceback (most recent call last):
    ...
    psychoalign.errors.TrialDataError: by: column 'condition' is not in the trial table (it ...
    """
    missing = [c for c in columns if c not in trials.columns]
    if missing:
        raise TrialDataError(
            f"{parameter}: column '{missing[0]}' is not in the trial table (it has "
            f"{', '.join(trials.columns)})."
        )


def level_values(
    conditions: Sequence[str], levels: Mapping[str, float] | None = None
) -> np.ndarray:
    """Numeric level of each condition label (for fits and for ordering plot axes).

    ``levels`` maps labels to values explicitly; otherwise a label is read as a number,
    ignoring a leading alphabetic prefix (``c50`` -> 50, as the contrast labels of
    model-vs-human). A label that is neither is refused with one sentence.

    Examples
    --------
    >>> level_values(["0.90", "c05", "inf"]).tolist()
    [0.9, 5.0, inf]
    >>> level_values(["true", "false"], levels={"true": 1, "false": 0}).tolist()
    [1.0, 0.0]
    """
    values = []
    for label in conditions:
        if levels is not None:
            if label not in levels:
                raise TrialDataError(
                    f"levels: condition '{label}' has no value in the given mapping."
                )
            values.append(float(levels[label]))
            continue
        match = _LABEL_NUMBER.match(str(label).strip())
        if not match:
            raise TrialDataError(
                f"column 'condition' has '{label}', which is not a numeric level; pass "
                "levels={label: value} for such conditions."
            )
        values.append(float(match.group(1)))
    return np.asarray(values, dtype=float)
