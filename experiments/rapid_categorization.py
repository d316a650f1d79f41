"""Rapid animal / non-animal categorisation (Serre et al. 2007; Eberhardt et al. 2016).

Per trial: fixation 1100-1500 ms (random, whole frames), image 50 ms, optional blank
(ISI), 1/f noise mask 100 ms, key press within the deadline from image onset, else
"too slow" feedback. Any 2- or N-way task works: the stimulus set's categories are the
task's categories and ``response.keys`` maps each to a key (counterbalanced across
participants). Run it with

    psychoalign run rapid_categorization --participant 01
    python experiments/rapid_categorization.py --participant 01
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from psychoalign.lab.errors import LabError
from psychoalign.lab.paradigm import empty_state, planned_trial, presentation_record

if TYPE_CHECKING:
    from psychoalign.lab.context import Lab
    from psychoalign.stimuli import StimulusSet

RT_REFERENCE = "image onset"
COLUMNS = ["fixation_fraction", "too_slow"]
#: Nothing is kept from one trial to the next.
initial_state = empty_state


def response_categories(config: dict[str, Any], stimuli: StimulusSet) -> list[str]:
    """The categories with a response key."""
    return list(config["response"]["keys"])


def plan(
    stimuli: StimulusSet,
    config: dict[str, Any],
    participant_index: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Every stimulus once, shuffled; each with a random fixation time and mask seed."""
    keys = config["response"]["keys"]
    missing = sorted(set(stimuli.categories) - set(keys))
    if missing:
        raise LabError(
            f"response.keys: category '{missing[0]}' of stimulus set '{stimuli.name}' has no key."
        )
    manifest = stimuli.manifest.iloc[rng.permutation(len(stimuli))]
    return [
        planned_trial(row, rng, fixation_fraction=float(rng.random()))
        for row in manifest.itertuples(index=False)
    ]


def present(lab: Lab, trial: dict[str, Any]) -> dict[str, Any]:
    """One trial; returns the response and the presentation record."""
    frames = lab.frames
    low, high = frames["fixation"]
    fixation_frames = low + int(trial["fixation_fraction"] * (high - low + 1))
    fixation = lab.display.show([lab.fixation()], fixation_frames, screenshot="fixation")
    image = lab.image(trial["stimulus"])
    shown = lab.present_stimulus(image, frames["stimulus"])
    blank = lab.display.show([], frames["isi"])
    size = tuple(int(v) for v in image.size)
    mask = lab.display.show([lab.mask(size, trial["seed"])], frames["mask"], screenshot="mask")
    deadline = lab.config["durations_ms"]["response_deadline"] / 1000
    answer = lab.keys(lab.config["response"]["keys"], deadline, screenshot="response")
    too_slow = answer is None
    if too_slow:
        lab.display.show(
            [lab.text(lab.config.get("too_slow", "Too slow!"))],
            frames["feedback"],
            screenshot="feedback",
        )
    return {
        "response": "na" if too_slow else answer.response,
        "rt": float("nan") if too_slow else answer.rt,
        "response_raw": "" if too_slow else answer.raw,
        "too_slow": too_slow,
        **presentation_record(shown, mask, shown.onset, fixation=fixation, blank=blank),
    }


if __name__ == "__main__":
    from psychoalign.lab import main

    main("rapid_categorization")
