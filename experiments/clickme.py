"""ClickMe-style feature-importance task (Linsley et al. 2019) as a PsychoPy experiment.

Per trial: fixation, then the image with its category named above it. Each click reveals
a disc ("bubble") of the image to the task's model observer, which classifies the
revealed image (the rest at ``hidden_grey``) after every click. The trial ends when the
model recognises the category (the participant scores ``click_budget - clicks + 1``
points), when the click budget is spent or at the time limit (0 points). A running score
and the clicks and seconds left are on screen. Clicks are stored in image pixel
coordinates (row, col of the stimulus file, whatever its size on screen) with their
times from image onset and the model's answer after each, as JSON in ``clicks``; build
human maps from them with ``psychoalign clickmaps build``. Run it with

    psychoalign run clickme --participant 01
    python experiments/clickme.py --participant 01
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from psychoalign.lab.paradigm import planned_trial

RT_REFERENCE = "image onset"
COLUMNS = [
    "clicks",
    "n_clicks",
    "recognised",
    "points",
    "score",
    "image_height",
    "image_width",
    "bubble_px",
    "click_budget",
]


def response_categories(config: dict[str, Any], stimuli: Any) -> list[str]:
    """The categories the model can answer (those of the stimulus set)."""
    return list(stimuli.categories)


def plan(
    stimuli: Any, config: dict[str, Any], participant_index: int, rng: np.random.Generator
) -> list[dict]:
    """Every stimulus once, shuffled."""
    manifest = stimuli.manifest.iloc[rng.permutation(len(stimuli))]
    return [planned_trial(row, rng) for row in manifest.itertuples(index=False)]


def initial_state(completed: Any) -> dict[str, Any]:
    """The running score: 0, or the points of the trials already done (on --resume)."""
    if completed is None or len(completed) == 0:
        return {"score": 0}
    return {"score": int(completed["points"].astype(int).sum())}


def bubble_diameter(config: dict[str, Any], image_size: int) -> float:
    """The bubble diameter in image pixels: ``bubble_px`` at ``reference_px``, scaled."""
    return config["bubble_px"] * image_size / config["reference_px"]


def reveal(
    pixels: np.ndarray, clicks: list[tuple[int, int]], diameter: float, grey: float
) -> np.ndarray:
    """The image as the model sees it: discs around the clicks, ``grey`` elsewhere."""
    rows, cols = np.indices(pixels.shape[:2])
    shown = np.zeros(pixels.shape[:2], dtype=bool)
    for row, col in clicks:
        shown |= (rows - row) ** 2 + (cols - col) ** 2 <= (diameter / 2) ** 2
    hidden = np.full_like(pixels, round(grey * 255))
    return np.where(shown[..., None], pixels, hidden)


def present(lab: Any, trial: dict[str, Any]) -> dict[str, Any]:
    """One image: clicks until the model recognises it, the budget is spent or time is up."""
    from PIL import Image
    from psychopy import visual

    config, frames = lab.config, lab.frames
    fixation = lab.display.show([lab.fixation()], frames["fixation"], screenshot="fixation")
    image = lab.image(trial["stimulus"])
    with Image.open(lab.stimuli.file(trial["stimulus"])) as picture:
        pixels = np.asarray(picture.convert("RGB"))
    height, width = pixels.shape[:2]
    scale = float(config.get("stimulus_scale", 1.0))
    shown_h, shown_w = height * scale, width * scale
    diameter = bubble_diameter(config, max(height, width))
    budget = int(config["click_budget"])
    label = lab.text(f"{trial['category'].upper()}: click what shows it", height=26)
    label.pos = (0, shown_h / 2 + 40)
    status = lab.text("", height=20)
    status.pos = (0, -shown_h / 2 - 36)
    markers: list[Any] = []

    def status_line(now: float, onset: float, n_clicks: int) -> list[Any]:
        left = max(0.0, config["durations_ms"]["time_limit"] / 1000 - (now - onset))
        status.text = (
            f"clicks left {budget - n_clicks}    time {math.ceil(left)} s    "
            f"score {lab.state['score']}"
        )
        return [status]

    status_line(0, 0, 0)
    lab.responses.clear_clicks()
    shown = lab.present_stimulus(image, 1, extra=[label, status])
    onset = shown.onset
    until = onset + config["durations_ms"]["time_limit"] / 1000
    if lab.participant is not None:
        points = lab.participant.choose_points(
            lab.seen, trial["category"], budget, spacing=diameter * scale / 2
        )
        lab.participant.click_points(
            [lab.display.to_screen(-shown_w / 2 + c, shown_h / 2 - r) for r, c in points]
        )
    clicks: list[dict[str, Any]] = []
    answer = "na"
    try:
        while len(clicks) < budget:
            click = lab.responses.next_click(
                [label, image, *markers],
                until=until,
                on_frame=lambda now: status_line(now, onset, len(clicks)),
            )
            if click is None:
                break
            x, y, when = click
            col = math.floor((x + shown_w / 2) / scale)
            row = math.floor((shown_h / 2 - y) / scale)
            if not (0 <= row < height and 0 <= col < width):
                continue  # outside the image: not a click on it
            revealed = reveal(
                pixels,
                [(c["row"], c["col"]) for c in clicks] + [(row, col)],
                diameter,
                config["hidden_grey"],
            )
            answers, scores = lab.task_model.respond(revealed[None])
            answer = answers[0]
            target = lab.task_model.mapping.categories.index(trial["category"])
            clicks.append(
                {
                    "row": row,
                    "col": col,
                    "t": round(when - onset, 4),
                    "model_response": answer,
                    "model_score": round(float(scores[0, target]), 6),
                }
            )
            markers.append(
                visual.Circle(
                    lab.win,
                    radius=diameter * scale / 2,
                    pos=((col + 0.5) * scale - shown_w / 2, shown_h / 2 - (row + 0.5) * scale),
                    lineColor="yellow",
                    fillColor=None,
                    lineWidth=2,
                )
            )
            if answer == trial["category"]:
                break
    finally:
        if lab.participant is not None:
            lab.participant.stop_clicking()
    recognised = answer == trial["category"]
    points = budget - len(clicks) + 1 if recognised else 0
    lab.state["score"] += points
    end = lab.display.last_flip
    message = (
        f"Recognised after {len(clicks)} click{'s' if len(clicks) != 1 else ''}: +{points} points"
        if recognised
        else "Not recognised: 0 points"
    )
    lab.display.show(
        [lab.text(f"{message}\n\nscore {lab.state['score']}")],
        frames["feedback"],
        screenshot="feedback",
    )
    return {
        "response": answer,
        "rt": clicks[-1]["t"] if clicks else float("nan"),
        "response_raw": "",
        "clicks": json.dumps(clicks),
        "n_clicks": len(clicks),
        "recognised": recognised,
        "points": points,
        "score": lab.state["score"],
        "image_height": height,
        "image_width": width,
        "bubble_px": round(diameter, 3),
        "click_budget": budget,
        "fixation_frames": fixation.frames,
        "stim_frames": shown.frames,
        "isi_frames": 0,
        "mask_frames": 0,
        "dropped_frames": fixation.dropped + shown.dropped,
        "onset_s": onset,
        "mask_onset_s": float("nan"),
        "response_onset_s": onset,
        "stimulus_duration_s": end - onset,
    }


if __name__ == "__main__":
    from psychoalign.lab import main

    main("clickme")
