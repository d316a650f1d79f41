"""Practice images kept out of the main trials.

A session's practice never shows an image of its main trials, so that each image is
still seen once. The practice images are the stimulus set's own practice subset (the rows
its manifest marks true in a ``practice`` column), or else ``practice_trials`` whole images
(all their conditions) held out of the main plan: drawn with a fixed seed, so every
participant of a paradigm practises on the same images and the main trials of all of them
cover the same images (the counterbalancing across participants stays complete), and taken
from the categories in turn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psychoalign.lab.errors import LabError
from psychoalign.stimuli import StimulusSet

__all__ = ["practice_images", "split_practice"]

#: The seed the held-out practice images are drawn with (the same for every session).
HOLD_OUT_SEED = 0
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


def _marked(stimuli: StimulusSet) -> pd.Series:
    """The manifest's ``practice`` column as booleans, or a LabError naming the bad row."""
    column = stimuli.manifest["practice"]
    if column.dtype == bool:
        return column
    text = column.fillna("").astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise LabError(
            f"{stimuli.path / 'manifest.csv'}: row {row}, column 'practice': "
            f"'{column.iloc[row - 1]}' is not true or false."
        )
    return text.isin(_TRUE)


def _held_out(stimuli: StimulusSet, count: int) -> list[str]:
    """``count`` whole images, drawn with :data:`HOLD_OUT_SEED`, one category after another."""
    firsts = stimuli.manifest.drop_duplicates("image")
    if count >= len(firsts):
        raise LabError(
            f"practice_trials: holding out {count} practice images would leave none of the "
            f"{len(firsts)} images of stimulus set '{stimuli.name}' for the main trials."
        )
    rng = np.random.default_rng(HOLD_OUT_SEED)
    queues = [
        list(rng.permutation(sorted(group["image"])))
        for _, group in sorted(firsts.groupby("category"))
    ]
    chosen: list[str] = []
    while len(chosen) < count:
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(str(queue.pop(0)))
    return sorted(chosen)


def practice_images(stimuli: StimulusSet, count: int) -> list[str]:
    """The images a session practises on, none of which its main trials show.

    Parameters
    ----------
    stimuli
        The paradigm's stimulus set.
    count
        The ``practice_trials`` setting: no practice images when 0.

    Returns
    -------
    list of str
        The images of the rows marked in the manifest's ``practice`` column when it has
        one, else ``count`` held-out images; sorted.

    Raises
    ------
    LabError
        The ``practice`` column holds a value that is not true or false, or holding out
        ``count`` images would leave no image for the main trials.
    """
    if count <= 0:
        return []
    if "practice" in stimuli.manifest.columns:
        return sorted(stimuli.manifest.loc[_marked(stimuli), "image"].astype(str).unique())
    return _held_out(stimuli, count)


def split_practice(
    stimuli: StimulusSet, images: list[str]
) -> tuple[StimulusSet, StimulusSet | None]:
    """The set of the main trials (without ``images``) and that of the practice (only them).

    With a ``practice`` manifest column the practice set holds only its marked rows; the
    main set leaves out every row of a practice image either way. No practice images: the
    whole set and None.
    """
    if not images:
        return stimuli, None
    manifest = stimuli.manifest
    in_practice = manifest["image"].isin(images)
    main = manifest.loc[~in_practice, "image"].unique()
    if not len(main):
        raise LabError(
            f"stimulus set '{stimuli.name}': every image is a practice image; none is left "
            "for the main trials."
        )
    rows = _marked(stimuli) if "practice" in manifest.columns else in_practice
    return stimuli.subset(images=main), stimuli.subset(stimuli=manifest.loc[rows, "stimulus"])
