"""Noise-degraded object recognition (Geirhos et al. 2018) as a PsychoPy experiment.

Per trial: (fixation 300 ms at the start of each block and of each run, so a resumed
session's first trial has it too), image 200 ms, one blank frame,
pink-noise mask 200 ms, then the 4 x 4 icon response screen for 1500 ms; no feedback.
Every source image is shown once, at one noise level; which level rotates with the
participant number (a Latin square), so across participants every image appears at every
level. Run it with

    psychoalign run noise_degraded --participant 01
    python experiments/noise_degraded.py --participant 01
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

if TYPE_CHECKING:
    from psychoalign.lab.context import Lab
    from psychoalign.stimuli import StimulusSet

#: Reaction times are measured from the onset of the response screen.
RT_REFERENCE = "response screen onset"
COLUMNS = ["first_in_block"]


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
    """Each image once, at the level ``(image number + participant) mod levels``, shuffled."""
    manifest = stimuli.manifest
    levels = stimuli.conditions
    images = sorted(manifest["image"].unique())
    chosen = {
        image: levels[(number + participant_index) % len(levels)]
        for number, image in enumerate(images)
    }
    rows = manifest[manifest["condition"] == manifest["image"].map(chosen)]
    rows = rows.iloc[rng.permutation(len(rows))]
    block = int(config.get("block_size", len(rows)))
    return [
        planned_trial(row, rng, block=position // block + 1, first_in_block=position % block == 0)
        for position, row in enumerate(rows.itertuples(index=False))
    ]


def present(lab: Lab, trial: dict[str, Any]) -> dict[str, Any]:
    """One trial; returns the response and the presentation record."""
    frames = lab.frames
    fixation = (
        lab.display.show([lab.fixation()], frames["block_fixation"], screenshot="fixation")
        if lab.opens_block(trial) and frames["block_fixation"]
        else None
    )
    image = lab.image(trial["stimulus"])
    shown = lab.present_stimulus(image, frames["stimulus"])
    blank = lab.display.show([], int(lab.config.get("blank_frames", 1)))
    mask = lab.display.show(
        [lab.mask(tuple(int(v) for v in image.size), trial["seed"])],
        frames["mask"],
        screenshot="mask",
    )
    answer = lab.icons(deadline_s=lab.config["durations_ms"]["response"] / 1000)
    return {
        "response": answer.response,
        "rt": answer.rt,
        "response_raw": answer.raw,
        **presentation_record(shown, mask, answer.onset, fixation=fixation, blank=blank),
    }


if __name__ == "__main__":
    from psychoalign.lab import main

    main("noise_degraded")
