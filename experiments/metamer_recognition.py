"""Model-metamer recognition (Feather et al. 2023) as a PsychoPy experiment.

Per trial: fixation 500 ms, image 300 ms, pink-noise mask 300 ms, then the 4 x 4 icon
screen until a click (5 s at most). Natural images and the metamers of every model x layer
(the set's conditions) are interleaved at random; after every ``catch_every`` trials a
catch trial shows a natural image, to check attention (``trial_type`` = ``catch``). Run
it on a metamer set made by ``psychoalign metamers`` with

    psychoalign run metamer_recognition --participant 01 --stimuli METAMER_SET
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from psychoalign.lab.paradigm import (
    empty_state,
    icon_categories,
    planned_trial,
    presentation_record,
)
from psychoalign.stimuli.metamer_sets import valid_metamers

if TYPE_CHECKING:
    from psychoalign.lab.context import Lab
    from psychoalign.stimuli import StimulusSet

RT_REFERENCE = "response screen onset"
COLUMNS = ["metamer_model"]


#: The categories on the response screen.
response_categories = icon_categories
#: Nothing is kept from one trial to the next.
initial_state = empty_state


def plan(
    stimuli: StimulusSet,
    config: dict[str, Any],
    participant_index: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """All stimuli interleaved at random, with a catch trial after every ``catch_every``.

    Metamers that failed validation (manifest column ``valid`` false) are left out unless
    ``include_failed_metamers`` is set; the model a metamer comes from (manifest column
    ``model``) is kept in ``metamer_model``.
    """
    manifest = stimuli.manifest
    if "valid" in manifest.columns and not config.get("include_failed_metamers", False):
        manifest = manifest[valid_metamers(manifest)]
    catch_pool = manifest[manifest["condition"] == config.get("catch_condition", "natural")]
    if catch_pool.empty:
        catch_pool = manifest
    every = int(config.get("catch_every", 0))
    trials = []
    for position, row in enumerate(
        manifest.iloc[rng.permutation(len(manifest))].itertuples(index=False)
    ):
        trials.append(_trial(row, "main", rng))
        if every and (position + 1) % every == 0:
            trials.append(_trial(catch_pool.iloc[int(rng.integers(len(catch_pool)))], "catch", rng))
    return trials


def _trial(row: Any, kind: str, rng: np.random.Generator) -> dict[str, Any]:
    return planned_trial(
        row, rng, trial_type=kind, metamer_model=str(getattr(row, "model", "") or "")
    )


def present(lab: Lab, trial: dict[str, Any]) -> dict[str, Any]:
    """One trial; returns the response and the presentation record."""
    frames = lab.frames
    fixation = lab.display.show([lab.fixation()], frames["fixation"], screenshot="fixation")
    image = lab.image(trial["stimulus"])
    shown = lab.present_stimulus(image, frames["stimulus"])
    size = tuple(int(v) for v in image.size)
    mask = lab.display.show([lab.mask(size, trial["seed"])], frames["mask"], screenshot="mask")
    answer = lab.icons(deadline_s=lab.config["durations_ms"]["response"] / 1000)
    return {
        "response": answer.response,
        "rt": answer.rt,
        "response_raw": answer.raw,
        **presentation_record(shown, mask, answer.onset, fixation=fixation),
    }


if __name__ == "__main__":
    from psychoalign.lab import main

    main("metamer_recognition")
