"""Column mappings: which column of someone else's file holds each trial column.

A mapping names, for trial columns, the file column that holds them
(``response=key_resp.keys``). It is given as a mapping, as text
(``"response=key_resp.keys,rt=key_resp.rt"``), as a YAML file holding such a mapping,
or by the name of a preset (:data:`COLUMN_PRESETS`); :func:`resolve_columns` turns any
of them into a :class:`ColumnMapping`, which the readers apply to a file's raw table.

When a task's responses are not category names (the keys of a keyboard, the names of the
buttons a mouse clicked), the mapping also holds a response table, ``response value ->
category``; a YAML file then has two sections::

    columns:
      response: key_resp.keys
      rt: key_resp.rt
    responses:
      f: cat
      j: dog
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from psychoalign.errors import MissingFileError, ParameterError, TrialDataError
from psychoalign.trials.readers._cells import snake_case
from psychoalign.trials.schema import OPTIONAL_COLUMNS, TRIAL_COLUMNS

__all__ = ["COLUMN_PRESETS", "ColumnMapping", "ColumnsSpec", "resolve_columns"]

#: A column mapping as a user gives it: a mapping, ``a=b,c=d`` text, a YAML file or a preset.
ColumnsSpec = Mapping[str, str] | str | os.PathLike[str]

#: Named mappings for the response components of PsychoPy Builder.
COLUMN_PRESETS: dict[str, dict[str, str]] = {
    "psychopy-keyboard": {"response": "key_resp.keys", "rt": "key_resp.rt"},
    "psychopy-mouse": {"response": "mouse.clicked_name", "rt": "mouse.time"},
}

_PAIR = re.compile(r"^\s*([A-Za-z_][\w]*)\s*=\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class ColumnMapping:
    """Trial column -> the file column that holds it.

    Attributes
    ----------
    columns
        ``{trial column: file column}``, file columns as written in the file's header.
    origin
        Where the mapping came from (a preset name, a file, ``--columns``), for messages.
    """

    columns: Mapping[str, str]
    origin: str = "columns"
    responses: Mapping[str, str] | None = None

    def category_of(self, value: str, path: Path, row: int) -> str:
        """The category a response ``value`` of file ``path``, row ``row`` stands for.

        Without a response table the value is the category itself; with one, a value
        missing from it is an error naming file, row and the table's values.
        """
        if self.responses is None:
            return value
        if value not in self.responses:
            raise TrialDataError(
                f"{path}: row {row}: response {value!r} is not in the responses table of "
                f"{self.origin} (it maps {', '.join(map(repr, self.responses))})."
            )
        return self.responses[value]

    def apply(self, raw: pd.DataFrame, path: Path) -> pd.DataFrame:
        """The raw table with each mapped file column copied to its trial column.

        The file's columns are looked up as written or in snake_case (raw tables hold
        snake_case names); a mapped column missing from the file is an error naming
        the file, the mapping and the file's columns.
        """
        frame = raw.copy()
        for target, source in self.columns.items():
            name = source if source in frame.columns else snake_case(source)
            if name not in frame.columns:
                present = ", ".join(c for c in raw.columns if not c.startswith("_"))
                raise TrialDataError(
                    f"{path}: column '{source}' (mapped to '{target}' by {self.origin}) is "
                    f"not in the file; its columns are {present}."
                )
            frame[target] = raw[name]
        return frame


def resolve_columns(spec: ColumnsSpec | ColumnMapping | None) -> ColumnMapping | None:
    """Turn a column mapping as a user gives it into a :class:`ColumnMapping`.

    Parameters
    ----------
    spec
        A mapping ``{trial column: file column}`` (or with the sections ``columns``
        and ``responses``, as in a YAML file); a preset name of
        :data:`COLUMN_PRESETS`; the path of a YAML file holding a mapping (suffix
        ``.yaml`` or ``.yml``; flat, or with a ``columns`` and a ``responses``
        section); or text of ``trial_column=file_column`` pairs separated
        by commas. None for no mapping.

    Returns
    -------
    ColumnMapping or None

    Raises
    ------
    ParameterError
        A pair is not ``name=column``, names a column that is not a trial column, or a
        section of a mapping is unknown or not name: text pairs.
    MissingFileError
        The YAML file does not exist.

    Examples
    --------
    >>> resolve_columns("response=key_resp.keys, rt=key_resp.rt").columns
    {'response': 'key_resp.keys', 'rt': 'key_resp.rt'}
    """
    if spec is None or isinstance(spec, ColumnMapping):
        return spec
    if isinstance(spec, Mapping):
        return _sectioned(spec, "the column mapping")
    text = os.fspath(spec)
    if text in COLUMN_PRESETS:
        return _checked(COLUMN_PRESETS[text], f"preset '{text}'")
    if Path(text).suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(Path(text))
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _PAIR.match(item)
        if not match:
            raise ParameterError(
                f"columns: '{item}' is not trial_column=file_column (for example "
                "response=key_resp.keys), a YAML file or one of the presets "
                f"{', '.join(COLUMN_PRESETS)}."
            )
        pairs[match.group(1)] = match.group(2)
    return _checked(pairs, "--columns")


def _from_yaml(path: Path) -> ColumnMapping:
    if not path.is_file():
        raise MissingFileError(f"{path}: the column mapping file does not exist.")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ParameterError(f"{path}: is not valid YAML ({error}).") from None
    if not isinstance(loaded, Mapping):
        raise ParameterError(
            f"{path}: a column mapping file holds trial_column: file_column pairs, such as "
            "'response: key_resp.keys'."
        )
    return _sectioned(loaded, str(path))


def _sectioned(spec: Mapping, origin: str) -> ColumnMapping:
    """A flat ``{trial column: file column}`` or the sections ``columns`` and ``responses``."""
    sections = {"columns", "responses"}
    if set(spec) & sections:
        unknown = sorted(str(key) for key in set(spec) - sections)
        if unknown:
            raise ParameterError(
                f"{origin}: '{unknown[0]}' is not a section of a column mapping; use "
                "'columns' (trial_column: file_column) and 'responses' (value: category)."
            )
        columns, responses = spec.get("columns", {}), spec.get("responses")
    else:
        columns, responses = spec, None
    for section, pairs in (("columns", columns), ("responses", responses or {})):
        if not isinstance(pairs, Mapping) or not all(
            isinstance(value, str) for value in pairs.values()
        ):
            raise ParameterError(
                f"{origin}: the {section} of a column mapping are name: text pairs, such "
                "as 'response: key_resp.keys' or 'f: cat'."
            )
    table = None if responses is None else {str(k): v for k, v in responses.items()}
    return _checked({str(k): v for k, v in columns.items()}, origin, table)


def _checked(
    columns: dict[str, str], origin: str, responses: dict[str, str] | None = None
) -> ColumnMapping:
    known = [*TRIAL_COLUMNS, *OPTIONAL_COLUMNS]
    for target in columns:
        if target not in known:
            raise ParameterError(
                f"{origin}: '{target}' is not a trial column; map one of {', '.join(known)}."
            )
    if not columns:
        raise ParameterError(f"{origin}: the column mapping is empty.")
    if responses is not None and not responses:
        raise ParameterError(f"{origin}: the responses table is empty.")
    return ColumnMapping(columns=dict(columns), origin=origin, responses=responses)
