"""ClickMe-style feature-importance task (Linsley et al. 2019) as a PsychoPy experiment.

Per trial: fixation, then the image with its category named above it. Each click reveals
a disc ("bubble") of the image to the task's model observer, which classifies the
revealed image (the rest at ``hidden_grey``) after every click. The trial ends when the
model recognises the category (the participant scores ``click_budget - clicks + 1``
points), when the click budget is spent or at the time limit (0 points). A running score
and the clicks and seconds left are on screen. Clicks are stored in image pixel
coordinates (row, col of the stimulus file, whatever its size on screen) with their
times from image onset and the model's answer after each, as JSON in ``clicks``; build
human maps from them with ``psychoalign clickmaps build``. The game's rules (bubble size,
budget, time limit, points) are :mod:`psychoalign.lab.clickme_rules`. Run it with

    psychoalign run clickme --participant 01
    python experiments/clickme.py --participant 01
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from psychoalign.lab.clickme_rules import ClickMeRules, reveal
from psychoalign.lab.errors import LabError
from psychoalign.lab.paradigm import planned_trial
from psychoalign.lab.timing import off_by_more_than_a_frame

if TYPE_CHECKING:
    import pandas as pd
    from psychopy.visual import Circle, ImageStim, TextStim

    from psychoalign.lab.context import Lab
    from psychoalign.stimuli import StimulusSet

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


def response_categories(config: dict[str, Any], stimuli: StimulusSet) -> list[str]:
    """The categories the model can answer (those of the stimulus set)."""
    return list(stimuli.categories)


def plan(
    stimuli: StimulusSet,
    config: dict[str, Any],
    participant_index: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Every stimulus once, shuffled (the game's settings are checked first)."""
    ClickMeRules.from_config(config)
    if not config.get("task_model"):
        raise LabError("task_model: ClickMe needs a model to reveal the bubbles to; name one.")
    manifest = stimuli.manifest.iloc[rng.permutation(len(stimuli))]
    return [planned_trial(row, rng) for row in manifest.itertuples(index=False)]


def initial_state(completed: pd.DataFrame | None) -> dict[str, Any]:
    """The running score: 0, or the points of the trials already done (on --resume)."""
    if completed is None or len(completed) == 0:
        return {"score": 0}
    return {"score": int(completed["points"].astype(int).sum())}


@dataclass(frozen=True)
class _Picture:
    """The trial's image: its pixels, and where they are drawn (centred, ``scale`` times)."""

    pixels: np.ndarray
    scale: float

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def shown_height(self) -> float:
        return self.height * self.scale

    @property
    def shown_width(self) -> float:
        return self.width * self.scale

    def pixel_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The image pixel (row, col) under window point (x, y), None outside the image."""
        col = math.floor((x + self.shown_width / 2) / self.scale)
        row = math.floor((self.shown_height / 2 - y) / self.scale)
        return (row, col) if 0 <= row < self.height and 0 <= col < self.width else None

    def centre_of(self, row: int, col: int) -> tuple[float, float]:
        """The window point at the centre of image pixel (row, col)."""
        return (
            (col + 0.5) * self.scale - self.shown_width / 2,
            self.shown_height / 2 - (row + 0.5) * self.scale,
        )


def _picture(lab: Lab, stimulus: str) -> _Picture:
    from PIL import Image

    with Image.open(lab.stimuli.file(stimulus)) as picture:
        pixels = np.asarray(picture.convert("RGB"))
    return _Picture(pixels, float(lab.config.get("stimulus_scale", 1.0)))


def _status(
    status: TextStim, rules: ClickMeRules, score: int, elapsed_s: float, n_clicks: int
) -> list[TextStim]:
    """The line under the image: clicks left, seconds left and the score."""
    status.text = (
        f"clicks left {rules.clicks_left(n_clicks)}    "
        f"time {math.ceil(rules.seconds_left(elapsed_s))} s    score {score}"
    )
    return [status]


def present(lab: Lab, trial: dict[str, Any]) -> dict[str, Any]:
    """One image: clicks until the model recognises it, the budget is spent or time is up."""
    rules = ClickMeRules.from_config(lab.config)
    fixation = lab.display.show([lab.fixation()], lab.frames["fixation"], screenshot="fixation")
    image = lab.image(trial["stimulus"])
    picture = _picture(lab, trial["stimulus"])
    diameter = rules.bubble_diameter(max(picture.height, picture.width))
    label = lab.text(f"{trial['category'].upper()}: click what shows it", height=26)
    label.pos = (0, picture.shown_height / 2 + 40)
    status = lab.text("", height=20)
    status.pos = (0, -picture.shown_height / 2 - 36)
    score = lab.state["score"]
    _status(status, rules, score, 0, 0)
    lab.responses.clear_clicks()
    shown = lab.present_stimulus(image, 1, extra=[label, status])
    onset = shown.onset
    _simulated_clicks(lab, trial, picture, rules.click_budget, diameter)
    try:
        clicks, answer = _clicks(
            lab,
            trial,
            picture,
            rules,
            diameter,
            [label, image],
            onset=onset,
            on_frame=lambda now, n_clicks: _status(status, rules, score, now - onset, n_clicks),
        )
    finally:
        if lab.participant is not None:
            lab.participant.stop_clicking()
    recognised = answer == trial["category"]
    points = rules.points(recognised=recognised, n_clicks=len(clicks))
    lab.state["score"] += points
    end = lab.display.last_flip
    _feedback(lab, recognised, len(clicks), points)
    return {
        "response": answer,
        "rt": clicks[-1]["t"] if clicks else float("nan"),
        "response_raw": "",
        "clicks": json.dumps(clicks),
        "n_clicks": len(clicks),
        "recognised": recognised,
        "points": points,
        "score": lab.state["score"],
        "image_height": picture.height,
        "image_width": picture.width,
        "bubble_px": round(diameter, 3),
        "click_budget": rules.click_budget,
        "fixation_frames": fixation.frames,
        "stim_frames": shown.frames,
        "isi_frames": 0,
        "mask_frames": 0,
        "dropped_frames": fixation.dropped + shown.dropped,
        "onset_s": onset,
        "mask_onset_s": float("nan"),
        "response_onset_s": onset,
        "stimulus_duration_s": end - onset,
        # The image stays until the game ends, so the frames that are timed are the
        # fixation's: flagged when it did not last them, to within a frame.
        "timing_flag": off_by_more_than_a_frame(
            fixation.frames, onset - fixation.onset, fixation.period
        ),
    }


def _simulated_clicks(
    lab: Lab, trial: dict[str, Any], picture: _Picture, budget: int, diameter: float
) -> None:
    """A simulated participant picks its points in what it saw and starts clicking them."""
    if lab.participant is None:
        return
    points = lab.participant.choose_points(
        lab.seen, trial["category"], budget, spacing=diameter * picture.scale / 2
    )
    lab.participant.click_points(
        [
            lab.display.to_screen(-picture.shown_width / 2 + c, picture.shown_height / 2 - r)
            for r, c in points
        ]
    )


def _clicks(
    lab: Lab,
    trial: dict[str, Any],
    picture: _Picture,
    rules: ClickMeRules,
    diameter: float,
    drawn: list[ImageStim | TextStim],
    *,
    onset: float,
    on_frame: Callable[[float, int], list[TextStim]],
) -> tuple[list[dict[str, Any]], str]:
    """Clicks on the image, the model's answer after each, until it is right or the game ends.

    ``drawn`` is redrawn on every frame with a ring at every click, and ``on_frame(now,
    n_clicks)`` on top. Returns the clicks (image pixel, time from ``onset``, the model's
    answer and its score for the category) and the model's last answer (``na`` before
    any click).
    """
    until = onset + rules.time_limit_s
    markers: list[Circle] = []
    clicks: list[dict[str, Any]] = []
    answer = "na"
    while len(clicks) < rules.click_budget:
        click = lab.responses.next_click(
            [*drawn, *markers], until=until, on_frame=lambda now: on_frame(now, len(clicks))
        )
        if click is None:
            break
        x, y, when = click
        pixel = picture.pixel_at(x, y)
        if pixel is None:
            continue  # outside the image: not a click on it
        revealed = reveal(
            picture.pixels,
            [(c["row"], c["col"]) for c in clicks] + [pixel],
            diameter,
            rules.hidden_grey,
        )
        answers, scores = lab.task_model.respond(revealed[None])
        answer = answers[0]
        target = lab.task_model.mapping.categories.index(trial["category"])
        clicks.append(
            {
                "row": pixel[0],
                "col": pixel[1],
                "t": round(when - onset, 4),
                "model_response": answer,
                "model_score": round(float(scores[0, target]), 6),
            }
        )
        markers.append(_marker(lab, picture, pixel, diameter))
        if answer == trial["category"]:
            break
    return clicks, answer


def _marker(lab: Lab, picture: _Picture, pixel: tuple[int, int], diameter: float) -> Circle:
    """A yellow ring where a bubble was revealed."""
    from psychopy import visual

    return visual.Circle(
        lab.win,
        radius=diameter * picture.scale / 2,
        pos=picture.centre_of(*pixel),
        lineColor="yellow",
        fillColor=None,
        lineWidth=2,
    )


def _feedback(lab: Lab, recognised: bool, n_clicks: int, points: int) -> None:
    """The points of the image and the running score."""
    message = (
        f"Recognised after {n_clicks} click{'s' if n_clicks != 1 else ''}: +{points} points"
        if recognised
        else "Not recognised: 0 points"
    )
    lab.display.show(
        [lab.text(f"{message}\n\nscore {lab.state['score']}")],
        lab.frames["feedback"],
        screenshot="feedback",
    )


if __name__ == "__main__":
    from psychoalign.lab import main

    main("clickme")
