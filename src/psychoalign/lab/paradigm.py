"""Building blocks of a paradigm's ``plan`` and ``present`` (``experiments/<name>.py``).

A trial planned from a manifest row, the categories of the 4 x 4 icon screen, and the
presentation record of a fixation-stimulus-blank-mask sequence, as the trial file stores
them (:data:`psychoalign.lab.runner.PRESENTATION_COLUMNS`). Importing this module does
not import PsychoPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from psychoalign.lab.display import Shown

__all__ = ["icon_categories", "planned_trial", "presentation_record"]


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


def icon_categories(config: dict[str, Any], stimuli: Any = None) -> list[str]:
    """The categories of the icon response screen, row by row (``response.icons``)."""
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
        mask_onset_s, response_onset_s, stimulus_duration_s``.

    Notes
    -----
    The stimulus duration is measured from flip to flip: from the stimulus onset to the
    onset of what replaced it (the blank if it had frames, else the mask).
    """
    replaced_by = blank if blank is not None and blank.frames else mask
    shown_parts = [part for part in (fixation, shown, blank, mask) if part is not None]
    return {
        "fixation_frames": fixation.frames if fixation is not None else 0,
        "stim_frames": shown.frames,
        "isi_frames": blank.frames if blank is not None else 0,
        "mask_frames": mask.frames,
        "dropped_frames": sum(part.dropped for part in shown_parts),
        "onset_s": shown.onset,
        "mask_onset_s": mask.onset,
        "response_onset_s": response_onset,
        "stimulus_duration_s": replaced_by.onset - shown.onset,
    }
