"""Model-metamer recognition (Feather et al. 2023) as a PsychoPy experiment.

Per trial: fixation 500 ms, image 300 ms, pink-noise mask 300 ms, then the 4 x 4 icon
screen until a click (5 s at most). Natural images and the metamers of every model x layer
(the set's conditions) are interleaved at random; after every ``catch_every`` trials a
catch trial shows a natural image, to check attention (``trial_type`` = ``catch``). Run
it on a metamer set made by ``psychoalign metamers`` with

    psychoalign run metamer_recognition --participant 01 --stimuli METAMER_SET
"""

from __future__ import annotations

from typing import Any

import numpy as np

RT_REFERENCE = "response screen onset"
COLUMNS = ["metamer_model"]


def response_categories(config: dict[str, Any], stimuli: Any) -> list[str]:
    """The categories on the response screen."""
    return [category for row in config["response"]["icons"] for category in row]


def plan(
    stimuli: Any, config: dict[str, Any], participant_index: int, rng: np.random.Generator
) -> list[dict]:
    """All stimuli interleaved at random, with a catch trial after every ``catch_every``.

    Metamers that failed validation (manifest column ``valid`` false) are left out unless
    ``include_failed_metamers`` is set; the model a metamer comes from (manifest column
    ``model``) is kept in ``metamer_model``.
    """
    manifest = stimuli.manifest
    if "valid" in manifest.columns and not config.get("include_failed_metamers", False):
        manifest = manifest[manifest["valid"].astype(str).isin(["True", "true", "1"])]
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
    return {
        "stimulus": row.stimulus,
        "image": row.image,
        "condition": row.condition,
        "category": row.category,
        "trial_type": kind,
        "block": 1,
        "metamer_model": str(getattr(row, "model", "") or ""),
        "seed": int(rng.integers(2**31)),
    }


def present(lab: Any, trial: dict[str, Any]) -> dict[str, Any]:
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
        "fixation_frames": fixation.frames,
        "stim_frames": shown.frames,
        "isi_frames": 0,
        "mask_frames": mask.frames,
        "dropped_frames": fixation.dropped + shown.dropped + mask.dropped,
        "onset_s": shown.onset,
        "mask_onset_s": mask.onset,
        "response_onset_s": answer.onset,
        "stimulus_duration_s": mask.onset - shown.onset,
    }


if __name__ == "__main__":
    from psychoalign.lab import main

    main("metamer_recognition")
