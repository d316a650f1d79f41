"""Loading a file as a raw table and parsing its text cells, shared by every reader.

A CSV is read with every cell as text (so ``"0.90"`` stays ``"0.90"``) and its column
names in snake_case; :func:`parse_numbers` and :func:`parse_booleans` then type the
columns that hold numbers and booleans, naming file, row and column of any cell they
cannot read.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.trials.schema import _ROW, _SOURCE
from psychoalign.trials.validation import _where

__all__ = ["parse_booleans", "parse_numbers", "read_csv_text", "read_parquet", "snake_case"]

_TRUE, _FALSE = (
    frozenset({"True", "true", "TRUE", "1"}),
    frozenset({"False", "false", "FALSE", "0"}),
)


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read every cell as text, column names in snake_case.

    A UTF-8 byte-order mark is skipped, and the nameless, empty last column that a
    delimiter at the end of every line adds (PsychoPy writes one) is dropped.
    """
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
    raw.columns = [snake_case(c) for c in raw.columns]
    return raw


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file with the dtypes it was written with."""
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises many types for a broken file
        raise TrialDataError(f"{path}: cannot be read as Parquet ({error}).") from None


def snake_case(name: str) -> str:
    """``expName`` -> ``exp_name``, ``key_resp.rt`` -> ``key_resp_rt``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def parse_numbers(raw: pd.DataFrame, column: str, *, whole: bool) -> pd.Series:
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


def parse_booleans(frame: pd.DataFrame, column: str) -> pd.Series:
    """Parse a text column of ``True``/``False`` (or ``true``, ``1``, ...) into booleans."""
    text = frame[column]
    known = text.isin(_TRUE | _FALSE).to_numpy()
    if not known.all():
        position = int(np.flatnonzero(~known)[0])
        raise TrialDataError(
            f"{frame[_SOURCE].iloc[position]}: row {frame[_ROW].iloc[position]}: column "
            f"'{column}' has {text.iloc[position]!r}, not True or False."
        )
    return text.isin(_TRUE)
