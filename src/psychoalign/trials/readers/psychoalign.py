"""psychoalign's own trial files (CSV and Parquet) and PsychoPy's CSVs.

A CSV that no more specific reader claims is read here: the columns of
:data:`~psychoalign.trials.TRIAL_COLUMNS`, or PsychoPy's names for two of them
(``participant`` for ``observer``, ``expName`` for ``experiment``; PsychoPy trials
without ``observer_kind`` are human). PsychoPy's quirks, a UTF-8 byte-order mark and a
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


def _from_trial_csv(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    frame = raw.copy() if context.columns is None else context.columns.apply(raw, path)
    experiment = context.experiment
    for alias, column in _PSYCHOPY_ALIASES.items():
        if column not in frame.columns and alias in frame.columns:
            frame = frame.rename(columns={alias: column})
    if experiment is not None:
        frame["experiment"] = experiment
    if "observer_kind" not in frame.columns and "participant" in raw.columns:
        frame["observer_kind"] = "human"
    missing = [c for c in TRIAL_COLUMNS if c not in frame.columns]
    if missing:
        others = _other_formats(path)
        raise TrialDataError(
            f"{path}: column '{missing[0]}' is missing; a trial file needs the columns "
            f"{', '.join(TRIAL_COLUMNS)}" + (f" (or is {others})." if others else ".")
        )
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
    name="psychoalign-csv", suffixes=(".csv",), columns=(), read=_from_trial_csv
)

PARQUET_READER = TrialReader(
    name="psychoalign-parquet",
    suffixes=(".parquet",),
    columns=(),
    read=_from_parquet,
    load=read_parquet,
)
