"""One registry of trial-file formats; :func:`read_trials` dispatches every file through it.

A format is a :class:`TrialReader`: its name, the file suffixes it reads, the columns
that identify it in a file's header, how to load the file as a raw table (every CSV
cell as text, by default) and a function that turns that raw table into a trial table.
For each file, :func:`read_trials` loads it and asks the readers of its suffix, the one
naming the most header columns first (registration order breaks ties); the first whose
columns are all in the header reads it. A reader that names no columns is the fallback
for its suffix (psychoalign's own CSV reader is the fallback for ``.csv``).

Adding a format
---------------
Write one module beside this one, ``psychoalign/trials/readers/<format>.py``, that
defines a read function and ``READER = TrialReader(...)`` (see
:mod:`psychoalign.trials.readers.model_vs_human` for a complete example), and add one
line to ``psychoalign/trials/readers/__init__.py``::

    register_reader(new_format.READER)

The read function receives the raw table (column names in snake_case, every cell a
text, plus the provenance columns ``_source`` and ``_row``), the file's path and the
:class:`ReadContext` of the call (the caller's ``experiment=`` and column mapping, and
:meth:`ReadContext.note` for what the reader accepted but the user should know). It
returns a table with the columns of :data:`~psychoalign.trials.TRIAL_COLUMNS`, numbers
parsed (use
:func:`~psychoalign.trials.readers._cells.parse_numbers`, so that a bad cell is named by
file, row and column), the provenance columns kept, and any extra columns it wants to
keep; :func:`read_trials` validates the result. It raises
:class:`~psychoalign.errors.TrialDataError` with one sentence naming the file (and row
and column) for anything it cannot read.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.errors import ParameterError, TrialDataError
from psychoalign.trials.readers._cells import read_csv_text, snake_case
from psychoalign.trials.readers._task import check_task
from psychoalign.trials.readers.column_mapping import ColumnMapping, ColumnsSpec, resolve_columns
from psychoalign.trials.schema import _ROW, _SOURCE, Categories
from psychoalign.trials.validation import validate_trials

__all__ = [
    "ReadContext",
    "TrialReader",
    "find_trial_files",
    "read_trials",
    "register_reader",
    "trial_readers",
]


@dataclass
class ReadContext:
    """What one :func:`read_trials` call tells every reader, and what readers note back.

    Attributes
    ----------
    experiment
        The caller's ``experiment=``: the experiment of files that do not name it, and
        the override of a name a file implies. None when not given.
    columns
        The caller's column mapping (``trial column -> file column``, see
        :func:`psychoalign.trials.readers.column_mapping.resolve_columns`); None when
        not given.
    notes
        Sentences about what was accepted but should be known (a file name that
        disagrees with its contents, a default applied); :func:`read_trials` returns
        them in ``trials.attrs["read_notes"]`` and the workflows record them in the
        outputs' provenance.
    """

    experiment: str | None = None
    columns: ColumnMapping | None = None
    notes: list[str] = field(default_factory=list)

    def note(self, path: Path, sentence: str) -> None:
        """Record ``sentence`` about the file ``path`` (once, however often it is said)."""
        text = f"{path}: {sentence}"
        if text not in self.notes:
            self.notes.append(text)


#: ``read(raw, path, context)`` -> the trial table of one file (before validation).
ReadFunction = Callable[[pd.DataFrame, Path, ReadContext], pd.DataFrame]

# Files beside trial files that a folder search skips: model probability tables, and the
# practice trials of lab sessions (read them by naming the file).
_NOT_TRIALS = ("probabilities", "_practice")


@dataclass(frozen=True)
class TrialReader:
    """A trial-file format that :func:`read_trials` recognises and reads.

    Parameters
    ----------
    name
        Short name, unique among the registered readers (``"model-vs-human"``).
    suffixes
        File suffixes this reader reads, with the dot (``(".csv",)``).
    columns
        Columns that identify the format: a file is this format when all of them are
        in its header (as :attr:`load` returns them: in snake_case for CSVs, so
        ``Session`` is ``session``). Empty: the fallback for the suffixes.
    read
        ``read(raw, path, context)``: the raw table as :attr:`load` returned it, with
        the provenance columns ``_source`` (the path) and ``_row`` (the spreadsheet row,
        the header being row 1); the file's path; the :class:`ReadContext` of the call.
        Returns the trial table of the file, which :func:`read_trials`
        validates.
    load
        Reads the file into the raw table; every CSV cell as a text by default.
    categories
        The task's categories that files of this format imply; :func:`read_trials` uses
        them when every file it reads implies the same list and none is passed.
    task_checked
        The files state a forced-choice task: :func:`read_trials` refuses a response
        that is none of the categories of the experiment's ``category`` column (when no
        category list is passed) and an image an observer saw twice in one condition
        and session (:mod:`psychoalign.trials.readers._task`).
    """

    name: str
    suffixes: tuple[str, ...]
    columns: tuple[str, ...]
    read: ReadFunction
    load: Callable[[Path], pd.DataFrame] = read_csv_text
    categories: tuple[str, ...] | None = None
    task_checked: bool = False

    def recognises(self, path: Path, header: Iterable[str]) -> bool:
        """Whether a file of this ``path`` and ``header`` is in this format."""
        return path.suffix.lower() in self.suffixes and set(self.columns) <= set(header)


_READERS: list[TrialReader] = []


def register_reader(reader: TrialReader, *, replace: bool = False) -> TrialReader:
    """Add a trial-file format to the registry that :func:`read_trials` dispatches through.

    Parameters
    ----------
    reader
        The format (see :class:`TrialReader`).
    replace
        Replace a registered reader of the same name (in its place in the order)
        instead of refusing it.

    Returns
    -------
    TrialReader
        ``reader``, so that a module can write ``READER = register_reader(...)``.

    Raises
    ------
    ParameterError
        ``reader`` is not a :class:`TrialReader`, names a suffix without its dot, or has
        the name of a registered reader and ``replace`` is false.
    """
    if not isinstance(reader, TrialReader):
        raise ParameterError(f"reader: {reader!r} is not a TrialReader.")
    if not reader.suffixes or not all(s.startswith(".") for s in reader.suffixes):
        raise ParameterError(
            f"reader: suffixes {reader.suffixes!r} of reader '{reader.name}' must be "
            "file suffixes with their dot, such as '.csv'."
        )
    names = [registered.name for registered in _READERS]
    if reader.name in names:
        if not replace:
            raise ParameterError(
                f"reader: a trial reader named '{reader.name}' is already registered; "
                "pass replace=True to replace it."
            )
        _READERS[names.index(reader.name)] = reader
    else:
        _READERS.append(reader)
    return reader


def trial_readers() -> tuple[TrialReader, ...]:
    """The registered trial-file formats, in registration order.

    Examples
    --------
    >>> [reader.name for reader in trial_readers()][:3]
    ['psychoalign-csv', 'psychoalign-parquet', 'model-vs-human']
    """
    return tuple(_READERS)


def _trial_suffixes() -> tuple[str, ...]:
    """Every suffix some reader reads, in registration order."""
    return tuple(dict.fromkeys(s for reader in _READERS for s in reader.suffixes))


def read_trials(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    categories: Categories | None = None,
    paired: bool = False,
    experiment: str | None = None,
    columns: ColumnsSpec | None = None,
    response_column: str | None = None,
    keep_location: bool = False,
) -> pd.DataFrame:
    """Read trial files into one validated trial table.

    Parameters
    ----------
    paths
        Files, folders (searched recursively for files of a registered suffix, ``*.csv``
        and ``*.parquet``, skipping hidden entries, the ``*probabilities.csv`` tables
        model observers write beside their trials and the ``*_practice.csv`` files of lab
        sessions) or glob patterns, alone or in a list. Each file is read by the
        registered reader that recognises it from its suffix and columns
        (:func:`trial_readers`, and the modules of :mod:`psychoalign.trials.readers`):
        psychoalign's own trial files (CSV or Parquet), PsychoPy's CSVs, PsychoPy
        Builder output through a column mapping, the raw CSVs of model-vs-human
        (Geirhos et al. 2021), of Geirhos et al. 2018 and of texture-vs-shape (Geirhos
        et al. 2019), and the 2018 CNN files with their probability columns.
    categories
        The task's category list (see :func:`~psychoalign.trials.validate_trials`).
        Files of the Geirhos et al. formats default to
        :data:`~psychoalign.trials.MODEL_VS_HUMAN_CATEGORIES`; without a list, the
        responses of psychoalign's own CSVs must be categories of their experiment's
        ``category`` column (or ``na``), and an observer may see an image once per
        condition and session (:attr:`TrialReader.task_checked`).
    paired
        All observers of an experiment saw the same images (see
        :func:`~psychoalign.trials.validate_trials`).
    experiment
        Experiment name for files that do not name it themselves (overrides the name
        taken from a file name).
    columns
        Column mapping ``trial column -> file column``: a mapping, the text
        ``"response=key_resp.keys,rt=key_resp.rt"``, a YAML file of such a mapping, or a
        preset name (see :func:`~psychoalign.trials.readers.column_mapping.resolve_columns`).
    response_column
        Score observers by this decision column instead of the format's own
        (``object_response_sums`` of the 2018 CNN files): ``response`` is taken from it
        (as a file names it or in snake_case) and ``correct`` recomputed as
        ``response == category``. Files without it keep their own decision (humans
        beside the 2018 CNNs), which is noted; a column that no file has is an error.
    keep_location
        Keep the hidden columns ``_source`` and ``_row`` (each row's file, and its row
        there as a spreadsheet numbers it), so that later checks of the table, such as
        :func:`psychoalign.metrics.click_table`, can name the file and row at fault.

    Returns
    -------
    pandas.DataFrame
        The trial table (:data:`~psychoalign.trials.TRIAL_COLUMNS`, then optional and
        extra columns), rows in the order of the files (sorted by path within a folder or
        glob) and of their rows. ``attrs["read_notes"]`` lists what was accepted but
        should be known (one sentence each, naming the file), such as a file name whose
        session differs from the file's ``session`` column.

    Raises
    ------
    TrialDataError
        Nothing matches a path, no reader reads a file, a file cannot be parsed, or a
        row breaks the schema; the message names the file, the row (as a spreadsheet
        numbers it: the header is row 1) and the column.

    Examples
    --------
    >>> from psychoalign.datasets import data_dir
    >>> trials = read_trials(data_dir() / "model-vs-human" / "human-raw" / "edge")
    >>> sorted(trials.observer.unique())[:2]
    ['subject-01', 'subject-02']
    """
    files = find_trial_files(paths)
    context = ReadContext(experiment=experiment, columns=resolve_columns(columns))
    frames, readers = zip(*(_read_one(file, context) for file in files), strict=True)
    if response_column is not None:
        frames = _scored_by(frames, files, response_column, context)
    combined = pd.concat(frames, ignore_index=True)
    if categories is None:
        implied = {reader.categories for reader in readers}
        if len(implied) == 1 and None not in implied:
            categories = implied.pop()
    validated = validate_trials(combined, categories=categories, paired=paired)
    checked = np.concatenate(
        [np.full(len(f), r.task_checked) for f, r in zip(frames, readers, strict=True)]
    )
    check_task(validated, checked, responses=categories is None)
    located = validated if keep_location else validated.drop(columns=[_SOURCE, _ROW])
    trials = located.reset_index(drop=True)
    trials.attrs["read_notes"] = list(context.notes)
    return trials


def _scored_by(
    frames: Sequence[pd.DataFrame], files: Sequence[Path], column: str, context: ReadContext
) -> tuple[pd.DataFrame, ...]:
    """Each file's trials with ``response`` taken from ``column`` where the file has it.

    Files without the column keep their own decision, and are noted; a column that no
    file has is an error.
    """
    scored, found = [], False
    for frame, path in zip(frames, files, strict=True):
        name = column if column in frame.columns else snake_case(column)
        if name in frame.columns and name not in ("response", _SOURCE, _ROW):
            found = True
            responses = frame[name]
            frame = frame.assign(response=responses, correct=responses == frame["category"])
        else:
            context.note(path, f"has no column '{column}'; scored by its own response column.")
        scored.append(frame)
    if not found:
        extra = sorted(c for c in frames[0].columns if not c.startswith("_"))
        raise TrialDataError(
            f"{files[0]}: --response-column '{column}' is not a column of any file read (the "
            f"first has {', '.join(extra)})."
        )
    return tuple(scored)


def find_trial_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Path]:
    """Trial files named by files, folders (searched recursively) or glob patterns.

    A folder yields its files of a registered suffix (``*.csv``, ``*.parquet``), sorted
    by path, skipping hidden entries, ``*probabilities.csv`` and ``*_practice.csv``; a
    file or glob yields what it names.

    Raises
    ------
    TrialDataError
        When an entry matches no trial file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    suffixes = _trial_suffixes()
    files: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in suffixes
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
            patterns = ", ".join(f"*{suffix}" for suffix in suffixes)
            raise TrialDataError(f"{entry}: no trial files ({patterns}) found there.")
        files.extend(found)
    if not files:
        raise TrialDataError("no trial files were given.")
    return files


def _read_one(path: Path, context: ReadContext) -> tuple[pd.DataFrame, TrialReader]:
    """Read one file with the first reader that recognises it, most specific first."""
    candidates = sorted(
        (reader for reader in _READERS if path.suffix.lower() in reader.suffixes),
        key=lambda reader: -len(reader.columns),
    )
    if not candidates:
        known = ", ".join(f"{r.name} ({' '.join(r.suffixes)})" for r in _READERS)
        raise TrialDataError(
            f"{path}: no trial reader reads '{path.suffix or path.name}' files "
            f"(registered: {known})."
        )
    loaded: dict[Callable[[Path], pd.DataFrame], pd.DataFrame | TrialDataError] = {}
    for reader in candidates:
        if reader.load not in loaded:
            try:
                raw = reader.load(path)
            except TrialDataError as error:
                # Another reader of this suffix may load the file differently.
                loaded[reader.load] = error
                continue
            loaded[reader.load] = raw.assign(**{_SOURCE: str(path), _ROW: np.arange(len(raw)) + 2})
        raw = loaded[reader.load]
        if isinstance(raw, pd.DataFrame) and reader.recognises(path, raw.columns):
            return reader.read(raw, path, context), reader
    failures = [outcome for outcome in loaded.values() if isinstance(outcome, TrialDataError)]
    if failures:
        raise failures[0]
    names = ", ".join(f"{r.name} ({', '.join(r.columns)})" for r in candidates)
    raise TrialDataError(
        f"{path}: its columns match no trial reader of '{path.suffix}' files (registered: {names})."
    )
