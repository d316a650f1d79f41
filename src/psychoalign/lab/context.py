"""What a paradigm's ``present`` works with: :class:`Lab`, the window, responses and settings.

The runner builds one :class:`Lab` per session and hands it to every call of the
paradigm's ``present``; its methods draw the usual screens (an image at its own pixel
size, a fixation cross, a noise mask, a text page) and wait for the usual answers (a key,
an icon click). Importing this module does not import PsychoPy; drawing does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from psychoalign.lab.display import Display, Shown
from psychoalign.lab.responses import Answer, IconScreen, Responses, Restart
from psychoalign.stimuli import StimulusSet

if TYPE_CHECKING:
    from psychopy.visual import ImageStim, ShapeStim, TextStim, Window
    from psychopy.visual.basevisual import BaseVisualStim

    from psychoalign.lab.simulate import SimulatedParticipant
    from psychoalign.models import ModelObserver

__all__ = ["Lab"]


@dataclass
class Lab:
    """What a paradigm's ``present`` works with: the window, responses, stimuli and settings.

    Attributes
    ----------
    display
        The window and its frame-exact presentation.
    responses
        The keyboard and mouse (Esc asks to quit).
    config
        The paradigm's settings, after the lab's file and the participant's
        counterbalancing variant were merged in.
    frames
        Every configured duration in whole frames at the refresh rate (a [low, high]
        range of milliseconds as a (low, high) pair of frame counts).
    stimuli
        The verified stimulus set.
    rng
        The session's generator (from its seed).
    participant
        The simulated participant, when ``--simulate`` was given.
    task_model
        A model that is part of the task itself (ClickMe's ``task_model``).
    state
        What the paradigm keeps across trials (a running score); see
        ``Paradigm.initial_state``.
    seen
        The pixels of the last stimulus as drawn, when a simulated participant watches.
    """

    display: Display
    responses: Responses
    config: dict[str, Any]
    frames: dict[str, int | tuple[int, int]]
    stimuli: StimulusSet
    rng: np.random.Generator
    participant: SimulatedParticipant | None = None
    task_model: ModelObserver | None = None
    state: dict[str, Any] = field(default_factory=dict)
    seen: np.ndarray | None = None
    _images: dict[str, ImageStim] = field(default_factory=dict)
    _icons: IconScreen | None = None
    # The first practice trial (key True) and the first other trial (False) of this run,
    # by stimulus and seed: each opens a block wherever the plan's blocks start.
    _firsts: dict[bool, tuple[Any, Any]] = field(default_factory=dict)

    def opens_block(self, trial: Mapping[str, Any]) -> bool:
        """Whether ``trial`` gets what starts a block (noise_degraded's fixation).

        True for a trial planned first in its block (``first_in_block``) and for the first
        practice trial and the first other trial presented in this run: a resumed session
        starts mid-block, and its first trial is presented like the first of a block
        (again if Esc interrupted it and the session went on).
        """
        key = (trial.get("stimulus"), trial.get("seed"))
        first = self._firsts.setdefault(trial.get("trial_type") == "practice", key)
        return bool(trial.get("first_in_block")) or first == key

    @property
    def win(self) -> Window:
        """The PsychoPy window."""
        return self.display.win

    def image(self, stimulus: str) -> ImageStim:
        """The stimulus as an ImageStim at its own pixel size (exactly the set's pixels)."""
        if stimulus not in self._images:
            from PIL import Image
            from psychopy import visual

            path = self.stimuli.file(stimulus)
            with Image.open(path) as picture:
                size = picture.size
            scale = float(self.config.get("stimulus_scale", 1.0))
            self._images[stimulus] = visual.ImageStim(
                self.win,
                image=str(path),
                size=(size[0] * scale, size[1] * scale),
                interpolate=scale != 1.0,
            )
        return self._images[stimulus]

    def text(self, message: str, *, height: float = 22, colour: str = "white") -> TextStim:
        """A centred text."""
        from psychopy import visual

        return visual.TextStim(self.win, text=message, color=colour, height=height, wrapWidth=900)

    def fixation(self) -> ShapeStim:
        """A black fixation cross."""
        from psychopy import visual

        return visual.ShapeStim(
            self.win,
            vertices="cross",
            size=(20, 20),
            lineWidth=0,
            fillColor="black",
            lineColor="black",
        )

    def mask(self, size: tuple[int, int], seed: int) -> ImageStim:
        """A full-contrast 1/f noise mask of ``size`` pixels from ``seed`` (see stimuli.masks)."""
        from psychopy import visual

        from psychoalign.stimuli.masks import paradigm_mask

        noise = paradigm_mask(
            self.config["mask_paradigm"], (size[1], size[0]), np.random.default_rng(seed)
        )
        # A 2-D array is a grey texture in [-1, 1]; its first row is drawn at the bottom.
        return visual.ImageStim(self.win, image=noise[::-1, :, 0] * 2 - 1, size=size)

    def present_stimulus(
        self,
        stimulus: ImageStim,
        n_frames: int,
        *,
        screenshot: str = "stimulus",
        extra: Sequence[BaseVisualStim] = (),
    ) -> Shown:
        """Show the stimulus (``extra`` drawn first), the keyboard clock reset on its first flip.

        A simulated participant sees the stimulus's pixels as drawn in the window
        (``self.seen``).
        """
        self.responses.reset_clock_on_flip()
        watching = self.participant is not None
        shown = self.display.show(
            [*extra, stimulus], n_frames, screenshot=screenshot, capture=watching
        )
        if watching:
            self.seen = self._region(shown.pixels, stimulus)
            self.participant.see(self.seen)
        return shown

    @staticmethod
    def _region(frame: np.ndarray, stimulus: ImageStim) -> np.ndarray:
        """The stimulus's rectangle of a captured frame."""
        width, height = (round(float(v)) for v in stimulus.size)
        centre_x = frame.shape[1] // 2 + round(float(stimulus.pos[0]))
        centre_y = frame.shape[0] // 2 - round(float(stimulus.pos[1]))
        top, left = centre_y - height // 2, centre_x - width // 2
        return frame[top : top + height, left : left + width]

    def keys(
        self,
        keys_by_category: Mapping[str, str],
        deadline_s: float | None,
        stimuli: Sequence[BaseVisualStim] = (),
        *,
        screenshot: str | None = None,
    ) -> Answer | None:
        """Wait for the key of a category (deadline on the clock reset at stimulus onset)."""
        if self.participant is not None:
            self.participant.respond_keys(keys_by_category)
        by_key = {key: category for category, key in keys_by_category.items()}
        answer = self.responses.wait_key(
            list(by_key), deadline=deadline_s, stimuli=stimuli, screenshot=screenshot
        )
        if answer is None:
            return None
        return Answer(response=by_key[answer.raw], rt=answer.rt, raw=answer.raw)

    def icons(self, deadline_s: float | None) -> Answer:
        """Show the 4 x 4 icon screen and wait for a click (deadline from its onset)."""
        if self._icons is None:
            from psychoalign.datasets import data_dir

            settings = self.config["response"]
            folder = Path(settings.get("icon_dir") or data_dir() / "response-screen-icons")
            self._icons = IconScreen(
                self.display, settings["icons"], folder, icon_px=settings.get("icon_px", 129)
            )
        if self.participant is not None:
            screen = {
                c: self.display.to_screen(x, y) for c, (x, y) in self._icons.positions.items()
            }
            self.participant.respond_icons(screen)
        return self.responses.wait_click(self._icons, deadline=deadline_s)

    def page(self, message: str, name: str) -> None:
        """A text page left with the space bar (Esc asks to quit); ``name`` its screenshot."""
        page = self.text(message)
        simulated = self.participant is not None
        while True:
            if simulated:
                self.participant.continue_()
            try:
                # A simulated participant presses again if its key press was missed.
                clock = self.responses.keyboard.clock
                deadline = clock.getTime() + 5 if simulated else None
                if (
                    self.responses.wait_key(
                        ["space"], deadline=deadline, stimuli=[page], screenshot=name
                    )
                    is not None
                ):
                    return
            except Restart:
                continue
