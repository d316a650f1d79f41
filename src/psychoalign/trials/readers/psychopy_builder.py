"""The CSVs that experiments made with PsychoPy Builder write, read through a column mapping.

A Builder CSV is recognised by the columns every Builder experiment adds to every row
(``participant, date, expName, psychopyVersion, frameRate``; in snake_case as the raw
table names them). Which of its columns hold the response and the response time
depends on the experiment's components, so a column mapping names them
(``--columns response=key_resp.keys,rt=key_resp.rt``, a YAML file, or a preset of
:data:`~psychoalign.trials.readers.column_mapping.COLUMN_PRESETS`:
``psychopy-keyboard``, ``psychopy-mouse``).

Rules
-----
- Rows: Builder writes one row each time a routine ends, also for the routines outside
  every loop (instructions, thanks), whose loop columns (``<loop>.thisN``) are empty.
  Those rows are dropped without a note: every Builder file has them and they hold no
  trial. The trials are the rows inside a loop.
- ``trial``: ``<loop>.thisN + 1`` when the file has one loop; with several loops
  (practice and main, or blocks around trials) the order of the rows in the file. A
  mapped ``trial`` column is taken as it is (1-based).
- ``session``: Builder's ``session`` field, a whole number (``"001"`` is 1); 1 when the
  experiment has no such field.
- ``observer``: ``participant``; ``observer_kind``: human; ``experiment``: ``expName``
  (``experiment=`` overrides it).
- ``stimulus``, ``image``, ``condition``, ``category``: the conditions-file columns the
  mapping names, by default those of the same name; ``stimulus`` defaults to the image.
- ``response``: the mapped column. The mouse component writes lists (``['cat_button']``,
  ``[0.52]``, one entry per click): the last entry, the click that ended the routine,
  is taken. The mapping's ``responses`` table turns keys or button names into
  categories. A routine that ended without a response (``None``, an empty list) gives
  ``na``.
- ``rt``: the mapped column, seconds; empty or ``None`` is NaN.
- ``correct``: ``response == category``. When the keyboard scored the trial itself
  (``<component>.corr``, against the conditions file's correct key) and the mapping has
  a responses table, the two must agree:
  a disagreement means the mapping's responses table contradicts the correct keys,
  and is an error naming the row.
- Kept as text columns: ``participant, exp_name, frame_rate, date, psychopy_version``
  and every other column of the file (in snake_case); ``session`` is the trial table's
  whole number.

A Builder file whose rows already hold the trial columns (written by a Code component)
needs no mapping and is read as psychoalign's own CSVs are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.trials.readers import psychoalign as psychoalign_files
from psychoalign.trials.readers._cells import parse_numbers, snake_case
from psychoalign.trials.readers.column_mapping import COLUMN_PRESETS, ColumnMapping
from psychoalign.trials.readers.registry import ReadContext, TrialReader
from psychoalign.trials.schema import _ROW, _SOURCE, NO_RESPONSE, TRIAL_COLUMNS

__all__: list[str] = []

#: Columns Builder's ExperimentHandler writes on every row, in snake_case.
BUILDER_COLUMNS = ("participant", "date", "exp_name", "psychopy_version", "frame_rate")

# Trial columns a Builder file implies (participant, expName, a human observer).
_IMPLIED = ("observer", "experiment", "observer_kind")
_DEFAULTS = {"image": "image", "condition": "condition", "category": "category"}
_NO_ANSWER = ("", "None", "[]", "[None]")
# What the keyboard writes in <component>.corr.
_SCORED = {"1": True, "0": False, "True": True, "False": False}


def _from_builder(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    """The trial table of one Builder CSV (see the module docstring for the rules)."""
    if context.columns is None:
        if set(TRIAL_COLUMNS) - set(_IMPLIED) <= set(raw.columns):
            return psychoalign_files.CSV_READER.read(raw, path, context)
        raise TrialDataError(_mapping_needed(raw, path))
    mapping = context.columns
    trials = _loop_rows(raw, path, mapping)
    mapped = mapping.apply(trials, path)
    for target, source in _DEFAULTS.items():
        if target not in mapping.columns:
            mapped = _default(mapped, target, source, path, mapping)
    if "stimulus" not in mapping.columns:
        mapped["stimulus"] = mapped["image"]
    frame = mapped.assign(
        experiment=context.experiment or mapped["exp_name"],
        observer=mapped["participant"],
        observer_kind="human",
    )
    if "session" in raw.columns:
        frame["session"] = parse_numbers(frame, "session", whole=True)
    else:
        frame["session"] = 1
    if "rt" in mapping.columns:
        frame["rt"] = parse_numbers(
            frame.assign(rt=frame["rt"].map(_last_entry)), "rt", whole=False
        )
    else:
        frame["rt"] = np.nan
    frame["response"] = [
        NO_RESPONSE if value in _NO_ANSWER else mapping.category_of(value, path, row)
        for value, row in zip(frame["response"].map(_last_entry), frame[_ROW], strict=True)
    ]
    frame["correct"] = frame["response"] == frame["category"]
    _check_scoring(frame, mapping, path)
    return frame


def _mapping_needed(raw: pd.DataFrame, path: Path) -> str:
    """The sentence for a Builder file read without a column mapping."""
    candidates = [c for c in raw.columns if c.endswith(("_keys", "_clicked_name", "_rt", "_time"))]
    return (
        f"{path}: is a PsychoPy Builder file, which needs a column mapping naming its "
        "response column (--columns response=key_resp.keys,rt=key_resp.rt or a preset: "
        f"{', '.join(COLUMN_PRESETS)}); its candidate columns are "
        f"{', '.join(candidates) or 'none'}."
    )


def _loop_rows(raw: pd.DataFrame, path: Path, mapping: ColumnMapping) -> pd.DataFrame:
    """The rows written inside a loop, with ``trial`` numbered as the rules say."""
    loops = [c for c in raw.columns if c.endswith("_this_n") and c != "this_n"]
    if not loops:
        raise TrialDataError(
            f"{path}: has no loop column (<loop>.thisN); a PsychoPy Builder experiment "
            "writes its trials inside a loop."
        )
    inside = (raw[loops] != "").any(axis=1).to_numpy()
    trials = raw[inside].reset_index(drop=True)
    if trials.empty:
        raise TrialDataError(f"{path}: no row was written inside the loop {loops[0]}.")
    if "trial" in mapping.columns:
        return trials
    if len(loops) == 1:
        number = parse_numbers(trials, loops[0], whole=True) + 1
    else:
        number = pd.Series(np.arange(len(trials)) + 1)
    return trials.assign(trial=number)


def _default(
    frame: pd.DataFrame, target: str, source: str, path: Path, mapping: ColumnMapping
) -> pd.DataFrame:
    if source not in frame.columns:
        raise TrialDataError(
            f"{path}: has no conditions column '{source}' for '{target}'; map it with "
            f"{target}=<column> in {mapping.origin}."
        )
    return frame.assign(**{target: frame[source]})


def _last_entry(cell: str) -> str:
    """The last entry of a mouse component's list cell (``"['a', 'b']"`` -> ``"b"``)."""
    if not (cell.startswith("[") and cell.endswith("]")):
        return cell
    try:
        entries = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return cell
    if not isinstance(entries, list):
        return cell
    return "" if not entries or entries[-1] is None else str(entries[-1])


def _check_scoring(frame: pd.DataFrame, mapping: ColumnMapping, path: Path) -> None:
    """Builder's own ``<component>.corr`` must agree with ``response == category``."""
    response = mapping.columns["response"]
    scored = snake_case(response.rsplit(".", 1)[0]) + "_corr"
    if mapping.responses is None or "." not in response or scored not in frame.columns:
        return
    builder = frame[scored].map(_SCORED)
    disagree = (builder.notna() & (builder != frame["correct"])).to_numpy(dtype=bool)
    if disagree.any():
        position = int(np.flatnonzero(disagree)[0])
        row = frame.iloc[position]
        raise TrialDataError(
            f"{row[_SOURCE]}: row {row[_ROW]}: PsychoPy scored the response "
            f"{'correct' if builder.iloc[position] else 'wrong'} ({scored} is "
            f"{row[scored]!r}) but response {row['response']!r} is "
            f"{'not ' if not row['correct'] else ''}category {row['category']!r}; check the "
            f"responses table of {mapping.origin} against the conditions file's correct keys."
        )


READER = TrialReader(
    name="psychopy-builder", suffixes=(".csv",), columns=BUILDER_COLUMNS, read=_from_builder
)
