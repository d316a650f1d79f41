"""Checks of a trial table against the task it records, for formats whose files state it.

A forced-choice task offers its categories as the responses, and shows an observer each
image once per condition and session. The readers of psychoalign's own CSVs check both
(:attr:`~psychoalign.trials.readers.registry.TrialReader.task_checked`); formats whose
responses are raw keys or a model's guess (PsychoPy Builder without a responses table,
the ClickMe task) are not checked.

- Responses: without a category list given to
  :func:`~psychoalign.trials.readers.registry.read_trials`, the categories of an
  experiment are the values of its ``category`` column (in every file read); a human's
  response that is none of them nor ``na`` (no answer) is an error naming file, row and
  column. A model's responses are not checked against them: a model observer answers with
  its decision mapping's categories (16 for ``imagenet-16``), which a set showing only some
  of them does not list.
- Repeats: an observer with the same ``image`` twice in one condition and session (of
  one experiment) is an error naming the file and row of both.

The lab's own session files are not checked: they have ``response_raw`` (every lab
trial file has it, :data:`psychoalign.lab.paradigm.PRESENTATION_COLUMNS`), their
responses are the paradigm's response screen (whose categories a short session need not
show) and ClickMe's is the model's guess. Rows that hold ``clicks`` (ClickMe trials) are
not checked either.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.trials.schema import NO_RESPONSE
from psychoalign.trials.validation import _fail, _location, _where

__all__: list[str] = []

# Columns of the lab's session files (any of them marks a row as the lab's).
_LAB_COLUMNS = ("response_raw", "clicks")
_REPEAT_KEY = ["experiment", "observer", "session", "condition", "image"]
# Categories listed in full in a message up to this many.
_LISTED = 20


def check_task(trials: pd.DataFrame, checked: np.ndarray, *, responses: bool) -> None:
    """Refuse responses outside the task's categories and repeated images.

    Parameters
    ----------
    trials
        The validated trial table, with the provenance columns ``_source`` and ``_row``.
    checked
        Per row, whether its format is checked.
    responses
        Check the responses against the categories of the ``category`` column (false when
        the caller gave the category list, which the schema checks instead).

    Raises
    ------
    TrialDataError
        Naming the file, row and column (and, for a repeat, the first row of the image).
    """
    for lab_column in _LAB_COLUMNS:
        if lab_column in trials.columns:
            checked = checked & trials[lab_column].isna().to_numpy()
    if not checked.any():
        return
    if responses:
        _check_responses(trials, checked)
    _check_repeats(trials, checked)


def _check_responses(trials: pd.DataFrame, checked: np.ndarray) -> None:
    for experiment, rows in trials.groupby("experiment", sort=False).indices.items():
        categories = sorted(set(trials["category"].iloc[rows]))
        mask = np.zeros(len(trials), dtype=bool)
        mask[rows] = True
        allowed = [*categories, NO_RESPONSE]
        humans = (trials["observer_kind"] == "human").to_numpy()
        bad = mask & checked & humans & ~trials["response"].isin(allowed).to_numpy()
        if bad.any():
            listed = ", ".join(categories[:_LISTED]) + (
                ", ..." if len(categories) > _LISTED else ""
            )
            _fail(
                trials,
                bad,
                "response",
                f"has {{value}}, which is none of the {len(categories)} categories of "
                f"experiment '{experiment}' (its 'category' column: {listed}) nor "
                f"'{NO_RESPONSE}' (no answer)",
            )


def _check_repeats(trials: pd.DataFrame, checked: np.ndarray) -> None:
    keys = trials[_REPEAT_KEY].astype(str)
    repeats = (keys.duplicated(keep="first").to_numpy()) & checked
    if not repeats.any():
        return
    second = int(np.flatnonzero(repeats)[0])
    same = (keys == keys.iloc[second]).all(axis=1).to_numpy()
    first = int(np.flatnonzero(same)[0])
    experiment, observer, session, condition, image = keys.iloc[second]
    raise TrialDataError(
        f"{_where(trials, second)}column 'image' repeats image '{image}' of observer "
        f"'{observer}' (condition '{condition}', session {session}, experiment "
        f"'{experiment}') first seen at {_location(trials, first)}; an observer sees each "
        "image once per condition and session (give a repeat its own session)."
    )
