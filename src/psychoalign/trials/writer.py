"""Write a trial table atomically as CSV or Parquet: :func:`write_trials`."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from psychoalign._io import atomic_file
from psychoalign.errors import TrialDataError
from psychoalign.trials.validation import validate_trials

__all__ = ["write_trials"]


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
    Both formats round-trip exactly through :func:`~psychoalign.trials.read_trials`:
    texts stay texts (``"0.90"`` stays ``"0.90"``, ``"na"`` stays ``"na"``), floats are
    written with the shortest representation that reads back to the same double,
    missing values are empty cells.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from psychoalign.datasets import load_model_vs_human
    >>> from psychoalign.trials import read_trials
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
    # Written under a hidden name beside the target and renamed: never half a file.
    if path.suffix == ".csv":
        # newline="" as when pandas opens the path itself: no second translation of line ends.
        with atomic_file(path, "w", encoding="utf-8", newline="") as handle:
            table.to_csv(handle, index=False, na_rep="")
    else:
        with atomic_file(path, "wb") as handle:
            table.to_parquet(handle, index=False)
    return path
