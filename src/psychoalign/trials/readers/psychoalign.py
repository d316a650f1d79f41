"""psychoalign's own trial files (CSV and Parquet) and PsychoPy's CSVs.

A CSV that no more specific reader claims is read here: the columns of
:data:`~psychoalign.trials.TRIAL_COLUMNS`, or PsychoPy's names for two of them
(``participant`` for ``observer``, ``expName`` for ``experiment``; PsychoPy trials
without ``observer_kind`` are human). Only :data:`REQUIRED_COLUMNS` (``observer, image,
condition, category, response``) must be there, all missing ones named in one sentence;
the others have defaults, stated in one read note per file: ``experiment`` the file's
name (the folder's, when the file holds one observer and its name contains that
observer's), ``observer_kind`` human, ``session`` 1, ``trial`` the order of each
observer's rows in the file, ``stimulus`` the image, ``rt`` NaN and ``correct``
``response == category``. Responses and repeated images are checked against the task
(:mod:`~psychoalign.trials.readers._task`). PsychoPy's quirks, a UTF-8 byte-order mark and a
delimiter at the end of every line, are handled when the file is loaded
(:func:`~psychoalign.trials.readers._cells.read_csv_text`). Parquet files keep the
dtypes :func:`~psychoalign.trials.write_trials` wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.trials.readers._cells import parse_booleans, parse_numbers, read_parquet
from psychoalign.trials.readers.registry import ReadContext, TrialReader, trial_readers
from psychoalign.trials.schema import OPTIONAL_COLUMNS, TRIAL_COLUMNS, _as_text

__all__: list[str] = []

_PSYCHOPY_ALIASES = {"participant": "observer", "exp_name": "experiment"}

#: The columns a trial file must have; the other trial columns have defaults.
REQUIRED_COLUMNS = ("observer", "image", "condition", "category", "response")

#: Trial columns a file may leave out, in the order their defaults are applied.
DEFAULTED_COLUMNS = tuple(c for c in TRIAL_COLUMNS if c not in REQUIRED_COLUMNS)

# Defaults that are one value for every row: (the cell, as the note states it).
_CONSTANT_DEFAULTS = {
    "observer_kind": ("human", "observer_kind 'human'"),
    "session": ("1", "session 1"),
    "rt": ("", "rt NaN (no response times)"),
}


def _from_trial_csv(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    frame = raw.copy() if context.columns is None else context.columns.apply(raw, path)
    for alias, column in _PSYCHOPY_ALIASES.items():
        if column not in frame.columns and alias in frame.columns:
            frame = frame.rename(columns={alias: column})
    if context.experiment is not None:
        frame["experiment"] = context.experiment
    if "observer_kind" not in frame.columns and "participant" in raw.columns:
        frame["observer_kind"] = "human"
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        others = _other_formats(path)
        raise TrialDataError(
            f"{path}: {_listed(missing)} {'is' if len(missing) == 1 else 'are'} missing; a "
            f"trial file needs the columns {', '.join(REQUIRED_COLUMNS)} (and may give "
            f"{', '.join(DEFAULTED_COLUMNS)}" + (f"; or is {others})." if others else ").")
        )
    frame = _with_defaults(frame, path, context)
    for column in ("session", "trial"):
        frame[column] = parse_numbers(frame, column, whole=True)
    frame["rt"] = parse_numbers(frame, "rt", whole=False)
    frame["correct"] = parse_booleans(frame, "correct")
    for column, dtype in OPTIONAL_COLUMNS.items():
        if column not in frame.columns:
            continue
        if dtype == "str":
            frame[column] = _as_text(frame[column].where(frame[column] != "", np.nan))
        else:
            # Whole-number columns are checked and typed by validate_trials.
            frame[column] = parse_numbers(frame, column, whole=False)
    return frame


def _listed(columns: list[str]) -> str:
    """``['a']`` -> ``column 'a'``; ``['a', 'b']`` -> ``columns 'a' and 'b'``."""
    quoted = [f"'{c}'" for c in columns]
    if len(quoted) == 1:
        return f"column {quoted[0]}"
    return f"columns {', '.join(quoted[:-1])} and {quoted[-1]}"


def _with_defaults(frame: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    """The columns of :data:`DEFAULTED_COLUMNS` that the file lacks, filled in and noted."""
    absent = [c for c in DEFAULTED_COLUMNS if c not in frame.columns]
    if not absent:
        return frame
    said = []
    for column in absent:
        if column == "experiment":
            name, source = _experiment_name(frame, path)
            frame["experiment"] = name
            said.append(f"experiment '{name}' ({source})")
        elif column == "trial":
            order = frame.groupby(["observer", "session"], sort=False).cumcount() + 1
            frame["trial"] = order.astype(str)
            said.append("trial numbered in file order within each observer and session")
        elif column == "stimulus":
            frame["stimulus"] = frame["image"]
            said.append("stimulus = image")
        elif column == "correct":
            frame["correct"] = np.where(frame["response"] == frame["category"], "True", "False")
            said.append("correct = (response == category)")
        else:
            value, text = _CONSTANT_DEFAULTS[column]
            frame[column] = value
            said.append(text)
    context.note(path, f"has no {_listed(absent)}; read with {', '.join(said)}.")
    return frame


def _experiment_name(frame: pd.DataFrame, path: Path) -> tuple[str, str]:
    """The experiment of a file without the column, and where the name came from.

    The file's name, unless the file holds one observer and its name contains that
    observer's (one file per observer, ``sub-01.csv``): then the folder's name.
    """
    observers = frame["observer"].unique()
    if len(observers) == 1 and str(observers[0]) in path.stem and path.parent.name:
        return path.parent.name, "the folder's name"
    return path.stem, "the file's name"


def _other_formats(path: Path) -> str:
    """The formats a file of this suffix could have been, by their identifying columns."""
    return " or ".join(
        f"a {reader.name} file with {', '.join(reader.columns)}, ..."
        for reader in trial_readers()
        if reader.columns and path.suffix in reader.suffixes
    )


def _from_parquet(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    """A Parquet file is already a trial table in its dtypes."""
    if context.columns is not None:
        raw = context.columns.apply(raw, path)
    if context.experiment is not None:
        raw = raw.assign(experiment=context.experiment)
    return raw


#: The fallback for ``.csv``: any CSV that no reader naming columns claims.
CSV_READER = TrialReader(
    name="psychoalign-csv",
    suffixes=(".csv",),
    columns=(),
    read=_from_trial_csv,
    task_checked=True,
)

PARQUET_READER = TrialReader(
    name="psychoalign-parquet",
    suffixes=(".parquet",),
    columns=(),
    read=_from_parquet,
    load=read_parquet,
)
