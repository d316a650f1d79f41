"""Check a trial table against the schema: :func:`validate_trials`.

Every problem is reported in one sentence that names the row (the file and its row, when
the table came from :func:`psychoalign.trials.read_trials`) and the column; the helpers
:func:`_where` and :func:`_fail` build that location for the readers too. Nothing is
converted: a value of the wrong type is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from psychoalign._checks import is_whole
from psychoalign.errors import TrialDataError
from psychoalign.trials.schema import (
    _ROW,
    _SOURCE,
    _STRING_COLUMNS,
    _TRIAL_KEY,
    NO_RESPONSE,
    OBSERVER_KINDS,
    OPTIONAL_COLUMNS,
    TRIAL_COLUMNS,
    Categories,
    _as_text,
)

__all__ = ["validate_trials"]


def validate_trials(
    trials: pd.DataFrame,
    *,
    categories: Categories | None = None,
    paired: bool = False,
) -> pd.DataFrame:
    """Check a trial table against the schema and return it with canonical dtypes.

    Parameters
    ----------
    trials
        One row per trial with at least the columns of :data:`TRIAL_COLUMNS`.
    categories
        The task's category list, either one list for every experiment or a mapping
        from experiment to list. When given, every ``category`` and every ``response``
        other than ``"na"`` must be in it. When omitted, categories are not checked,
        because a task may offer responses that no image of the table belongs to.
    paired
        Declare that all observers of an experiment saw the same images: within each
        experiment and condition every observer must have the same images (with the
        same number of repeats), as in the model-vs-human datasets.

    Returns
    -------
    pandas.DataFrame
        The same trials, required columns first in schema order, then the optional and
        any extra columns; required columns in their schema dtypes (``str``, ``int64``,
        ``bool``, ``float64``). Values are never changed: a value of the wrong type is
        an error, not converted.

    Raises
    ------
    TrialDataError
        On the first problem, naming the row (the file and its row, when the table came
        from :func:`read_trials`) and the column.

    Notes
    -----
    Rules checked: every required column is present; string columns hold non-empty
    strings; ``observer_kind`` is ``human`` or ``model``, one per observer; ``session``
    and ``trial`` are whole numbers of at least 1; ``rt`` is a non-negative number or
    missing; ``correct`` is boolean and equals ``response == category`` (so ``na`` is
    wrong);
    no two rows share ``experiment, observer, session, trial``; categories and pairing
    as described above.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> trials = validate_trials(load_model_vs_human("edge"), paired=True)
    >>> trials.shape
    (1600, 12)
    """
    frame = trials.copy()
    missing = [name for name in TRIAL_COLUMNS if name not in frame.columns]
    if missing:
        raise TrialDataError(
            f"{_where(frame)}column '{missing[0]}' is missing; a trial table needs the "
            f"columns {', '.join(TRIAL_COLUMNS)}."
        )
    for name in _STRING_COLUMNS:
        frame[name] = _checked_strings(frame, name)
    _check_allowed(frame, "observer_kind", OBSERVER_KINDS)
    _check_one_kind_per_observer(frame)
    for name in ("session", "trial"):
        frame[name] = _checked_counts(frame, name)
    frame["rt"] = _checked_rt(frame)
    frame["correct"] = _checked_correct(frame)
    for name, dtype in OPTIONAL_COLUMNS.items():
        if name in frame.columns:
            frame[name] = _checked_optional(frame, name, dtype)
    if categories is not None:
        _check_categories(frame, categories)
    _check_unique_trials(frame)
    if paired:
        _check_paired(frame)
    ordered = [*TRIAL_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in frame.columns)]
    return frame[ordered + [c for c in frame.columns if c not in ordered]]


def _location(frame: pd.DataFrame, position: int) -> str:
    """Name the file and row of ``frame.iloc[position]`` (or its index label)."""
    if _SOURCE in frame.columns:
        return f"{frame[_SOURCE].iloc[position]}: row {frame[_ROW].iloc[position]}"
    return f"row {frame.index[position]}"


def _where(frame: pd.DataFrame, position: int | None = None) -> str:
    """Prefix of an error message: the row's location, or the file of the whole table."""
    if position is not None:
        return f"{_location(frame, position)}: "
    if _SOURCE in frame.columns and frame[_SOURCE].nunique() == 1:
        return f"{frame[_SOURCE].iloc[0]}: "
    return ""


def _fail(frame: pd.DataFrame, bad: np.ndarray, column: str, problem: str) -> None:
    """Raise for the first row where ``bad`` is true; ``problem`` may use {value}."""
    position = int(np.flatnonzero(bad)[0])
    value = frame[column].iloc[position]
    value = value.item() if isinstance(value, np.generic) else value
    raise TrialDataError(
        f"{_where(frame, position)}column '{column}' {problem.format(value=repr(value))}."
    )


def _checked_strings(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    if isinstance(values.dtype, pd.StringDtype):
        is_text = (values.notna() & (values != "")).to_numpy(dtype=bool)
    else:
        is_text = values.map(lambda v: isinstance(v, str) and v != "").to_numpy(dtype=bool)
    if not is_text.all():
        _fail(frame, ~is_text, column, "has {value} where a non-empty text is required")
    return _as_text(values)


def _check_allowed(frame: pd.DataFrame, column: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    bad = ~frame[column].isin(allowed).to_numpy()
    if bad.any():
        choices = " or ".join(repr(a) for a in allowed)
        _fail(frame, bad, column, f"has {{value}}, which is not {choices}")


def _check_one_kind_per_observer(frame: pd.DataFrame) -> None:
    first_kind = frame.groupby("observer", sort=False)["observer_kind"].transform("first")
    bad = (frame["observer_kind"] != first_kind).to_numpy()
    if bad.any():
        observer = frame["observer"].iloc[int(np.flatnonzero(bad)[0])]
        earlier = int(np.flatnonzero((frame["observer"] == observer).to_numpy())[0])
        _fail(
            frame,
            bad,
            "observer_kind",
            f"has {{value}} but observer '{observer}' is "
            f"'{frame['observer_kind'].iloc[earlier]}' at {_location(frame, earlier)}",
        )


def _checked_counts(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        whole = values.map(is_whole)
        if not whole.all():
            _fail(frame, ~whole.to_numpy(bool), column, "has {value}, not a whole number")
        values = values.astype("int64")
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers)) | (numbers < 1)
    if bad.any():
        _fail(frame, bad, column, "has {value}, but must be a whole number of at least 1")
    return pd.Series(numbers.astype("int64"), index=frame.index, name=column)


def _checked_rt(frame: pd.DataFrame) -> pd.Series:
    values = frame["rt"]
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        is_number = values.map(
            lambda v: (
                v is None or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
            )
        )
        if not is_number.all():
            _fail(frame, ~is_number.to_numpy(bool), "rt", "has {value}, not a number of seconds")
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = (numbers < 0) | np.isinf(numbers)
    if bad.any():
        _fail(frame, bad, "rt", "has {value}, but a response time is a non-negative number")
    return pd.Series(numbers, index=frame.index, name="rt")


def _checked_correct(frame: pd.DataFrame) -> pd.Series:
    values = frame["correct"]
    if not pd.api.types.is_bool_dtype(values) or values.isna().any():
        is_bool = values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        if not is_bool.all():
            _fail(frame, ~is_bool, "correct", "has {value}, not True or False")
    correct = values.astype(bool)
    expected = (frame["response"] == frame["category"]).to_numpy(dtype=bool)
    bad = correct.to_numpy() != expected
    if bad.any():
        _fail(
            frame,
            bad,
            "correct",
            "has {value}, which contradicts response == category (a correct trial is one "
            "whose response is its category)",
        )
    return correct


def _checked_optional(frame: pd.DataFrame, column: str, dtype: str) -> pd.Series:
    values = frame[column]
    if dtype == "str":
        is_text = values.map(lambda v: pd.isna(v) or isinstance(v, str)).to_numpy(dtype=bool)
        if not is_text.all():
            _fail(frame, ~is_text, column, "has {value}, not a text")
        return _as_text(values)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        is_number = values.map(
            lambda v: (
                pd.isna(v) or (isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
            )
        ).to_numpy(dtype=bool)
        if not is_number.all():
            _fail(frame, ~is_number, column, "has {value}, not a number")
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    if dtype == "Int64":
        finite = np.isfinite(numbers)
        bad = ~np.isnan(numbers) & (~finite | (numbers != np.round(np.where(finite, numbers, 0))))
        if bad.any():
            _fail(frame, bad, column, "has {value}, not a whole number")
        return values.astype("Int64")
    return pd.Series(numbers, index=frame.index, name=column)


def _categories_of(categories: Categories, experiment: str) -> Sequence[str] | None:
    if isinstance(categories, Mapping):
        return categories.get(experiment)
    return categories


def _check_categories(frame: pd.DataFrame, categories: Categories) -> None:
    for experiment, rows in frame.groupby("experiment", sort=False).indices.items():
        allowed = _categories_of(categories, experiment)
        if allowed is None:
            continue
        allowed = set(allowed)
        listed = ", ".join(sorted(allowed)[:3]) + (", ..." if len(allowed) > 3 else "")
        mask = np.zeros(len(frame), dtype=bool)
        mask[rows] = True
        for column, extra in (("category", set()), ("response", {NO_RESPONSE})):
            bad = mask & ~frame[column].isin(allowed | extra).to_numpy()
            if bad.any():
                _fail(
                    frame,
                    bad,
                    column,
                    f"has {{value}}, which is not one of the {len(allowed)} categories of "
                    f"experiment '{experiment}' ({listed})"
                    + (" nor 'na' (no answer)" if extra else ""),
                )


def _check_unique_trials(frame: pd.DataFrame) -> None:
    key = list(_TRIAL_KEY)
    repeats = frame.duplicated(key, keep="first").to_numpy()
    if not repeats.any():
        return
    second = int(np.flatnonzero(repeats)[0])
    experiment, observer, session, trial = frame[key].iloc[second]
    first = int(np.flatnonzero((frame[key] == frame[key].iloc[second]).all(axis=1))[0])
    raise TrialDataError(
        f"{_where(frame, second)}column 'trial' repeats trial {trial} of observer "
        f"'{observer}' (session {session}, experiment '{experiment}') first seen at "
        f"{_location(frame, first)}; each trial must appear once."
    )


def _check_paired(frame: pd.DataFrame) -> None:
    """Every observer of an experiment and condition saw the same images, as often."""
    positioned = frame.assign(_position=np.arange(len(frame)))
    for (experiment, condition), group in positioned.groupby(
        ["experiment", "condition"], sort=False
    ):
        repeats = group.groupby(["image", "observer"], sort=True).size().unstack(fill_value=0)
        signatures = [tuple(repeats[name]) for name in repeats.columns]
        # The most common set of images is the reference; the first other observer is named.
        reference = max(signatures, key=signatures.count)
        deviant = next((i for i, s in enumerate(signatures) if s != reference), None)
        if deviant is None:
            continue
        name = repeats.columns[deviant]
        reference_name = repeats.columns[signatures.index(reference)]
        own, expected = repeats[name].to_numpy(), np.array(reference)
        extra = own > expected
        seen, unseen = (name, reference_name) if extra.any() else (reference_name, name)
        images = set(repeats.index[extra if extra.any() else own < expected])
        rows = group["image"].isin(images).to_numpy() & (group["observer"] == seen).to_numpy()
        first = int(np.flatnonzero(rows)[0])
        position, image = int(group["_position"].iloc[first]), group["image"].iloc[first]
        raise TrialDataError(
            f"{_where(frame, position)}column 'image' has '{image}', which observer "
            f"'{seen}' saw {repeats.loc[image, seen]} time(s) in condition '{condition}' of "
            f"experiment '{experiment}' but observer '{unseen}' "
            f"{repeats.loc[image, unseen]} time(s); observers of a paired experiment must "
            "all see the same images."
        )
