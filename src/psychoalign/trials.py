"""The trial table: one row per trial, for human and model observers alike.

Every part of psychoalign reads and writes this table (DESIGN.md section 2). This module
defines its schema, checks it (:func:`validate_trials`), reads it from our own CSV and
Parquet files, from PsychoPy's CSVs and from the raw CSVs of the model-vs-human benchmark
(:func:`read_trials`), and writes it atomically (:func:`write_trials`).
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

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
    "find_trial_files",
    "image_id",
    "level_values",
    "read_trials",
    "require_columns",
    "validate_trials",
    "write_trials",
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

#: Optional columns with a fixed meaning (DESIGN.md section 2) and their dtypes.
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

_MODEL_VS_HUMAN_COLUMNS = (
    "subj",
    "session",
    "trial",
    "rt",
    "object_response",
    "category",
    "condition",
    "imagename",
)
_STRING_COLUMNS = tuple(name for name, dtype in TRIAL_COLUMNS.items() if dtype == "str")
_TRIAL_KEY = ("experiment", "observer", "session", "trial")
# Provenance carried through reading so that every error can name file and row.
_SOURCE, _ROW = "_source", "_row"
# Files beside trial files that a folder search skips: model probability tables, and the
# practice trials of lab sessions (read them by naming the file).
_NOT_TRIALS = ("probabilities", "_practice")
_TRUE, _FALSE = (
    frozenset({"True", "true", "TRUE", "1"}),
    frozenset({"False", "false", "FALSE", "0"}),
)

Categories = Sequence[str] | Mapping[str, Sequence[str]]
_PANDAS_3 = int(pd.__version__.split(".")[0]) >= 3
_LABEL_NUMBER = re.compile(r"^[A-Za-z_-]*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?|inf)$")


def _as_text(values: pd.Series) -> pd.Series:
    """Text column whose missing values stay missing (pandas 2 would write them 'nan')."""
    if _PANDAS_3:
        return values.astype("str")
    return values.astype(object).where(values.notna(), np.nan)


# ---------------------------------------------------------------------------------------
# Validation


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
        is_whole = values.map(
            lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)
        )
        if not is_whole.all():
            _fail(frame, ~is_whole.to_numpy(bool), column, "has {value}, not a whole number")
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


# ---------------------------------------------------------------------------------------
# Reading


def read_trials(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    categories: Categories | None = None,
    paired: bool = False,
    experiment: str | None = None,
) -> pd.DataFrame:
    """Read trial files into one validated trial table.

    Parameters
    ----------
    paths
        Files, folders (searched recursively for ``*.csv`` and ``*.parquet``, skipping
        hidden entries, the ``*probabilities.csv`` tables model observers write beside
        their trials and the ``*_practice.csv`` files of lab sessions) or glob patterns,
        alone or in a list. Three formats are recognised
        from their columns: psychoalign's own trial files (CSV or Parquet, as
        :func:`write_trials` writes them), PsychoPy's CSVs (UTF-8 byte-order mark and a
        trailing delimiter on every line are accepted; ``participant`` stands in for
        ``observer`` and ``expName`` for ``experiment``; trials without
        ``observer_kind`` are human), and the raw CSVs of the model-vs-human benchmark
        (see Notes).
    categories
        The task's category list (see :func:`validate_trials`). Model-vs-human files
        default to :data:`MODEL_VS_HUMAN_CATEGORIES`.
    paired
        All observers of an experiment saw the same images (see :func:`validate_trials`).
    experiment
        Experiment name for files that do not name it themselves (overrides the name
        taken from a model-vs-human file name).

    Returns
    -------
    pandas.DataFrame
        The trial table (:data:`TRIAL_COLUMNS`, then optional and extra columns), rows in
        the order of the files (sorted by path within a folder or glob) and of their rows.

    Raises
    ------
    TrialDataError
        Nothing matches a path, a file cannot be parsed, or a row breaks the schema;
        the message names the file, the row (as a spreadsheet numbers it: the header is
        row 1) and the column.

    Notes
    -----
    Model-vs-human raw files have the header ``subj, Session|session, trial, rt,
    object_response, category, condition, imagename`` and are named
    ``<dataset>_<subj>_session_<n>.csv``; the dataset becomes ``experiment``. A ``subj``
    starting with ``subject-`` is a human, anything else a model. ``stimulus`` keeps the
    ``imagename`` as written (it embeds the subject and trial number); ``image``, the id
    of the source image shared by all observers, is its tail: the last two
    ``_``-separated fields when the second-to-last starts with ``n0`` (an ImageNet file
    such as ``n02504458_7209.png``), otherwise the last field (``oven10.png``).
    Condition labels stay exactly as written (``0.90``, ``true``, ``c05``). Model files
    leave ``condition`` empty in the single-condition datasets (edge, silhouette, sketch,
    stylized, cue-conflict) where the human files write ``0``; a file whose conditions
    are all empty is therefore read with condition ``0``, so that models and humans
    join. A file with only some conditions empty is an error.

    Examples
    --------
    >>> from psychoalign.datasets import data_dir
    >>> trials = read_trials(data_dir() / "model-vs-human" / "human-raw" / "edge")
    >>> sorted(trials.observer.unique())[:2]
    ['subject-01', 'subject-02']
    """
    files = find_trial_files(paths)
    frames = [_read_one(file, experiment=experiment) for file in files]
    combined = pd.concat(frames, ignore_index=True)
    if categories is None and all(f.attrs.get("model_vs_human") for f in frames):
        categories = MODEL_VS_HUMAN_CATEGORIES
    validated = validate_trials(combined, categories=categories, paired=paired)
    return validated.drop(columns=[_SOURCE, _ROW]).reset_index(drop=True)


def find_trial_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Path]:
    """Trial files named by files, folders (searched recursively) or glob patterns.

    Raises
    ------
    TrialDataError
        When an entry matches no ``*.csv`` or ``*.parquet`` file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".csv", ".parquet")
                and p.is_file()
                and not p.stem.endswith(_NOT_TRIALS)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            found = [path]
        else:
            found = sorted(
                Path(p) for p in glob.glob(str(entry), recursive=True) if Path(p).is_file()
            )
        if not found:
            raise TrialDataError(f"{entry}: no trial files (*.csv, *.parquet) found there.")
        files.extend(found)
    if not files:
        raise TrialDataError("no trial files were given.")
    return files


def _read_one(path: Path, *, experiment: str | None) -> pd.DataFrame:
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises many types for a broken file
            raise TrialDataError(f"{path}: cannot be read as Parquet ({error}).") from None
        frame = frame.assign(**{_SOURCE: str(path), _ROW: np.arange(len(frame)) + 2})
        if experiment is not None:
            frame["experiment"] = experiment
        return frame
    raw = _read_csv_text(path)
    columns = set(raw.columns)
    if {"subj", "object_response", "imagename"} <= columns:
        frame = _from_model_vs_human(raw, path, experiment)
        frame.attrs["model_vs_human"] = True
        return frame
    return _from_trial_csv(raw, path, experiment)


def _read_csv_text(path: Path) -> pd.DataFrame:
    """Read every cell as text, with the file's row numbers attached."""
    try:
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=False
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        reason = str(error).strip().splitlines()[-1]
        raise TrialDataError(f"{path}: cannot be read as a CSV trial file ({reason}).") from None
    # PsychoPy ends every line with the delimiter, which adds one nameless, empty column.
    trailing = [c for c in raw.columns if c.startswith("Unnamed: ") and (raw[c] == "").all()]
    raw = raw.drop(columns=trailing)
    raw.columns = [_snake_case(c) for c in raw.columns]
    return raw.assign(**{_SOURCE: str(path), _ROW: np.arange(len(raw)) + 2})


def _snake_case(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _from_model_vs_human(raw: pd.DataFrame, path: Path, experiment: str | None) -> pd.DataFrame:
    for column in _MODEL_VS_HUMAN_COLUMNS:
        if column not in raw.columns:
            raise TrialDataError(
                f"{path}: column '{column}' is missing; a model-vs-human file has the "
                f"columns {', '.join(_MODEL_VS_HUMAN_COLUMNS)}."
            )
    observers = raw["subj"]
    frame = pd.DataFrame(
        {
            "experiment": experiment or _dataset_prefix(path, raw),
            "observer": observers,
            "observer_kind": np.where(observers.str.startswith("subject-"), "human", "model"),
            "session": _parse_numbers(raw, "session", whole=True),
            "trial": _parse_numbers(raw, "trial", whole=True),
            "stimulus": raw["imagename"],
            "image": raw["imagename"].map(image_id),
            "condition": _reconciled_conditions(raw, path),
            "category": raw["category"],
            "response": raw["object_response"],
        }
    )
    frame["correct"] = frame["response"] == frame["category"]
    frame["rt"] = _parse_numbers(raw, "rt", whole=False)
    return frame.assign(**{_SOURCE: raw[_SOURCE], _ROW: raw[_ROW]})


def image_id(imagename: str) -> str:
    """Source-image id at the tail of a model-vs-human ``imagename``.

    Examples
    --------
    >>> image_id("0001_nse_s01_0.03_elephant_10_n02504458_7209.png")
    'n02504458_7209.png'
    >>> image_id("0001_edg_s01_0_oven_00_oven10.png")
    'oven10.png'
    >>> image_id("oven10.png")
    'oven10.png'
    """
    fields = imagename.split("_")
    if len(fields) > 1 and fields[-2].startswith("n0"):
        return f"{fields[-2]}_{fields[-1]}"
    return fields[-1]


def _dataset_prefix(path: Path, raw: pd.DataFrame) -> str:
    if len(raw) == 0:
        raise TrialDataError(f"{path}: has a header but no trials.")
    suffix = f"_{raw['subj'].iloc[0]}_session_{raw['session'].iloc[0]}"
    if not path.stem.endswith(suffix) or path.stem == suffix:
        raise TrialDataError(
            f"{path}: cannot tell the experiment from the file name; model-vs-human files "
            f"are named <dataset>{suffix}.csv (or pass experiment=...)."
        )
    return path.stem[: -len(suffix)]


def _reconciled_conditions(raw: pd.DataFrame, path: Path) -> pd.Series:
    conditions = raw["condition"]
    empty = (conditions == "").to_numpy()
    if empty.all():
        return pd.Series("0", index=raw.index)
    if empty.any():
        row = raw[_ROW].iloc[int(np.flatnonzero(empty)[0])]
        raise TrialDataError(
            f"{path}: row {row}: column 'condition' is empty while other rows of the file "
            "name their condition."
        )
    return conditions


def _parse_numbers(raw: pd.DataFrame, column: str, *, whole: bool) -> pd.Series:
    """Parse a text column into numbers; empty cells and NaN are missing unless ``whole``."""
    text = raw[column]
    missing = text.isin(["", "NaN", "nan", "NA"]).to_numpy()
    numbers = pd.to_numeric(text.where(~missing, "nan"), errors="coerce").astype("float64")
    values = numbers.to_numpy()
    unparsed = np.isnan(values) & ~missing
    if whole:
        unparsed |= missing | (np.isfinite(values) & (values != np.round(values)))
    if unparsed.any():
        position = int(np.flatnonzero(unparsed)[0])
        kind = "a whole number" if whole else "a number"
        raise TrialDataError(
            f"{_where(raw, position)}column '{column}' has {text.iloc[position]!r}, not {kind}."
        )
    return numbers.astype("int64") if whole else numbers


_PSYCHOPY_ALIASES = {"participant": "observer", "exp_name": "experiment"}


def _from_trial_csv(raw: pd.DataFrame, path: Path, experiment: str | None) -> pd.DataFrame:
    frame = raw.copy()
    for alias, column in _PSYCHOPY_ALIASES.items():
        if column not in frame.columns and alias in frame.columns:
            frame = frame.rename(columns={alias: column})
    if experiment is not None:
        frame["experiment"] = experiment
    if "observer_kind" not in frame.columns and "participant" in raw.columns:
        frame["observer_kind"] = "human"
    missing = [c for c in TRIAL_COLUMNS if c not in frame.columns]
    if missing:
        raise TrialDataError(
            f"{path}: column '{missing[0]}' is missing; a trial file needs the columns "
            f"{', '.join(TRIAL_COLUMNS)} (or is a model-vs-human file with subj, "
            "object_response, imagename, ...)."
        )
    for column in ("session", "trial"):
        frame[column] = _parse_numbers(frame, column, whole=True)
    frame["rt"] = _parse_numbers(frame, "rt", whole=False)
    frame["correct"] = _parse_booleans(frame, "correct")
    for column, dtype in OPTIONAL_COLUMNS.items():
        if column not in frame.columns:
            continue
        if dtype == "str":
            frame[column] = _as_text(frame[column].where(frame[column] != "", np.nan))
        else:
            # Whole-number columns are checked and typed by validate_trials.
            frame[column] = _parse_numbers(frame, column, whole=False)
    return frame


def _parse_booleans(frame: pd.DataFrame, column: str) -> pd.Series:
    text = frame[column]
    known = text.isin(_TRUE | _FALSE).to_numpy()
    if not known.all():
        position = int(np.flatnonzero(~known)[0])
        raise TrialDataError(
            f"{frame[_SOURCE].iloc[position]}: row {frame[_ROW].iloc[position]}: column "
            f"'{column}' has {text.iloc[position]!r}, not True or False."
        )
    return text.isin(_TRUE)


# ---------------------------------------------------------------------------------------
# Writing


def write_trials(trials: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Validate a trial table and write it atomically as CSV or Parquet.

    Parameters
    ----------
    trials
        The trial table.
    path
        Target file; ``.csv`` or ``.parquet`` decides the format. The file is written
        next to its target under a temporary name and renamed, so a reader never sees a
        half-written file.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    Both formats round-trip exactly through :func:`read_trials`: texts stay texts
    (``"0.90"`` stays ``"0.90"``, ``"na"`` stays ``"na"``), floats are written with
    the shortest representation that reads back to the same double, missing values
    are empty cells.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from psychoalign.datasets import load_model_vs_human
    >>> trials = load_model_vs_human("edge")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_trials(trials, pathlib.Path(folder) / "edge.parquet")
    ...     read_trials(written).equals(trials)
    True
    """
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise TrialDataError(f"{path}: a trial file must end in .csv or .parquet.")
    table = validate_trials(trials)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(descriptor)
    try:
        if path.suffix == ".csv":
            table.to_csv(temporary, index=False, na_rep="")
        else:
            table.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
