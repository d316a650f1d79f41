"""The paradigm contract and the building blocks of ``experiments/<name>.py``.

:class:`Paradigm` is what every paradigm script provides (its ``plan``, ``present``,
``response_categories`` and ``initial_state`` functions, its ``COLUMNS`` and its
``RT_REFERENCE``); :func:`check_paradigm` refuses a script that lacks one. The building
blocks: a trial planned from a manifest row, the categories of the 4 x 4 icon screen, the
empty state of a paradigm that keeps none, and the presentation record of a
fixation-stimulus-blank-mask sequence, as the trial file stores it
(:data:`PRESENTATION_COLUMNS`). Importing this module does not import PsychoPy.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from psychoalign.lab.errors import LabError
from psychoalign.lab.timing import off_by_more_than_a_frame

if TYPE_CHECKING:
    import pandas as pd

    from psychoalign.lab.context import Lab
    from psychoalign.lab.display import Shown
    from psychoalign.stimuli import StimulusSet

__all__ = [
    "PRESENTATION_COLUMNS",
    "Paradigm",
    "check_paradigm",
    "empty_state",
    "icon_categories",
    "planned_trial",
    "presentation_record",
]

#: Columns every lab trial file has after the trial-table schema. ``run`` is 1 for the
#: trials of a session's first run and one more after each ``--resume``; ``timing_flag``
#: marks a stimulus whose measured duration is more than a frame off its frames (see
#: :func:`presentation_record`).
PRESENTATION_COLUMNS = [
    "paradigm",
    "run",
    "block",
    "trial_type",
    "simulated",
    "refresh_hz",
    "fixation_frames",
    "stim_frames",
    "isi_frames",
    "mask_frames",
    "dropped_frames",
    "onset_s",
    "mask_onset_s",
    "response_onset_s",
    "stimulus_duration_s",
    "timing_flag",
    "response_raw",
    "seed",
]


@runtime_checkable
class Paradigm(Protocol):
    """What a paradigm script ``experiments/<name>.py`` provides; the runner does the rest.

    A module satisfies it by defining these names at its top level; the runner
    (:func:`psychoalign.lab.runner.run_experiment`) refuses one that does not, before
    anything is shown.

    Attributes
    ----------
    COLUMNS
        The paradigm's own trial-file columns, written after the trial-table and
        :data:`PRESENTATION_COLUMNS` (e.g. ``first_in_block``).
    RT_REFERENCE
        What reaction times are measured from, e.g. ``"image onset"`` or ``"response
        screen onset"``; written to the session's sidecar.
    """

    COLUMNS: list[str]
    RT_REFERENCE: str

    def plan(
        self,
        stimuli: StimulusSet,
        config: dict[str, Any],
        participant_index: int,
        rng: np.random.Generator,
    ) -> list[dict[str, Any]]:
        """The session's trials in order, each from :func:`planned_trial`.

        ``participant_index`` is the participant number (for Latin squares); every draw
        comes from ``rng``, so a seed gives the same plan every time.
        """
        ...

    def present(self, lab: Lab, trial: dict[str, Any]) -> dict[str, Any]:
        """Run one planned trial; return its ``response``, ``rt``, ``response_raw`` and record.

        The record is the presentation columns (:func:`presentation_record`) and the
        paradigm's ``COLUMNS``; the runner adds ``correct``.
        """
        ...

    def response_categories(self, config: dict[str, Any], stimuli: StimulusSet) -> list[str]:
        """The categories a participant can answer (a simulated one chooses among them)."""
        ...

    def initial_state(self, completed: pd.DataFrame | None) -> dict[str, Any]:
        """What the paradigm keeps across trials (``Lab.state``) at the start of a session.

        ``completed`` holds the trials already on disk when a session is resumed (None in
        a new session), e.g. to carry a running score on.
        """
        ...


def _members() -> tuple[list[str], list[str]]:
    """The functions and the constants of :class:`Paradigm`, in the order they are declared."""
    functions = [
        name
        for name, value in vars(Paradigm).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]
    return functions, list(Paradigm.__annotations__)


def check_paradigm(candidate: object, where: str) -> Paradigm:
    """``candidate`` (a loaded paradigm script) if it provides every member of :class:`Paradigm`.

    Parameters
    ----------
    candidate
        The imported module of ``experiments/<name>.py``.
    where
        The script's path, named in the refusal.

    Returns
    -------
    Paradigm
        ``candidate`` itself.

    Raises
    ------
    LabError
        A member is missing, a function is not callable, ``COLUMNS`` is not a list of
        names or ``RT_REFERENCE`` not a text.
    """
    functions, constants = _members()
    everything = ", ".join([*functions, *constants])
    for name in [*functions, *constants]:
        if not hasattr(candidate, name):
            raise LabError(f"{where}: defines no '{name}'; a paradigm defines {everything}.")
    for name in functions:
        member = getattr(candidate, name)
        if not callable(member):
            raise LabError(f"{where}: '{name}' is {member!r}, but must be a function.")
    columns = candidate.COLUMNS
    if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
        raise LabError(f"{where}: 'COLUMNS' is {columns!r}, but must be a list of column names.")
    if not isinstance(candidate.RT_REFERENCE, str):
        raise LabError(
            f"{where}: 'RT_REFERENCE' is {candidate.RT_REFERENCE!r}, but must be a text such as "
            "'image onset'."
        )
    return candidate


def empty_state(completed: pd.DataFrame | None) -> dict[str, Any]:
    """The ``initial_state`` of a paradigm that keeps nothing across trials: ``{}``.

    Examples
    --------
    >>> empty_state(None)
    {}
    """
    return {}


def planned_trial(
    row: Any,
    rng: np.random.Generator,
    *,
    trial_type: str = "main",
    block: int = 1,
    **fields: Any,
) -> dict[str, Any]:
    """One planned trial: a manifest row's stimulus, the paradigm's fields and a mask seed.

    Parameters
    ----------
    row
        A manifest row (from ``itertuples``, or a Series) with ``stimulus``, ``image``,
        ``condition`` and ``category``.
    rng
        The plan's generator; the mask seed is drawn from it after any draws made for
        ``fields``, so a seed gives the same plan every time.
    trial_type
        ``main``, ``catch`` or ``practice``.
    block
        Block number, from 1.
    **fields
        Further columns of the paradigm (its ``COLUMNS``), e.g. ``first_in_block``.

    Returns
    -------
    dict
        ``stimulus, image, condition, category, trial_type, block``, the ``fields``, then
        ``seed``.
    """
    return {
        "stimulus": row.stimulus,
        "image": row.image,
        "condition": row.condition,
        "category": row.category,
        "trial_type": trial_type,
        "block": int(block),
        **fields,
        "seed": int(rng.integers(2**31)),
    }


def icon_categories(config: dict[str, Any], stimuli: StimulusSet | None = None) -> list[str]:
    """The categories of the icon response screen, row by row (``response.icons``).

    A paradigm with the icon screen uses it as its ``response_categories``.
    """
    return [category for row in config["response"]["icons"] for category in row]


def presentation_record(
    shown: Shown,
    mask: Shown,
    response_onset: float,
    *,
    fixation: Shown | None = None,
    blank: Shown | None = None,
) -> dict[str, Any]:
    """Frames, dropped frames and onsets of one trial's presentation, for the trial file.

    Parameters
    ----------
    shown, mask
        The stimulus and the mask as :meth:`~psychoalign.lab.display.Display.show`
        returned them.
    response_onset
        When the response window opened (the reaction-time reference), in seconds.
    fixation, blank
        The fixation and the blank between stimulus and mask, when shown.

    Returns
    -------
    dict
        ``fixation_frames, stim_frames, isi_frames, mask_frames, dropped_frames, onset_s,
        mask_onset_s, response_onset_s, stimulus_duration_s, timing_flag``.

    Notes
    -----
    The stimulus duration is measured from flip to flip: from the stimulus onset to the
    onset of what replaced it (the blank if it had frames, else the mask).
    ``timing_flag`` is True when that duration is more than one refresh period away from
    ``stim_frames`` periods, :math:`|d - n T| > T`
    (:func:`~psychoalign.lab.timing.off_by_more_than_a_frame`): the image was not on the
    screen for the frames the file says, e.g. a dropped frame held it one frame too long
    and another flip came late, or flips did not wait for the display.
    """
    replaced_by = blank if blank is not None and blank.frames else mask
    shown_parts = [part for part in (fixation, shown, blank, mask) if part is not None]
    duration = replaced_by.onset - shown.onset
    return {
        "fixation_frames": fixation.frames if fixation is not None else 0,
        "stim_frames": shown.frames,
        "isi_frames": blank.frames if blank is not None else 0,
        "mask_frames": mask.frames,
        "dropped_frames": sum(part.dropped for part in shown_parts),
        "onset_s": shown.onset,
        "mask_onset_s": mask.onset,
        "response_onset_s": response_onset,
        "stimulus_duration_s": duration,
        "timing_flag": off_by_more_than_a_frame(shown.frames, duration, shown.period),
    }
