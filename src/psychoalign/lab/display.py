"""The PsychoPy window: frame-exact presentation, flip records, screenshots, what was drawn.

Imported only when an experiment runs: it imports PsychoPy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from psychoalign.lab.errors import LabError

__all__ = ["Display", "Shown"]


@dataclass(frozen=True)
class Shown:
    """What one presentation did: first flip time, frames flipped, frames dropped, its pixels."""

    onset: float
    frames: int
    dropped: int
    pixels: np.ndarray | None = None


class Display:
    """A PsychoPy window in pixel units with its refresh rate.

    Parameters
    ----------
    background_grey
        Background luminance in [0, 1] (0.454 in Geirhos et al. 2018).
    fullscreen
        Full screen (experiments) or a window (piloting, tests).
    size
        Window size in pixels when not full screen.
    refresh_hz
        Declared refresh rate; None measures it (``Window.getActualFrameRate``). Under a
        virtual display without vsync the measurement is meaningless: declare it there.
    """

    def __init__(
        self,
        *,
        background_grey: float,
        fullscreen: bool,
        size: tuple[int, int] = (1024, 768),
        refresh_hz: float | None = None,
    ):
        from psychopy import logging, visual

        logging.console.setLevel(logging.ERROR)
        grey = 2 * background_grey - 1
        self.win = visual.Window(
            size=size,
            fullscr=fullscreen,
            color=[grey, grey, grey],
            colorSpace="rgb",
            units="pix",
            allowGUI=False,
            waitBlanking=True,
            checkTiming=False,
        )
        self.win.mouseVisible = False
        measured = self.win.getActualFrameRate(
            nIdentical=10, nMaxFrames=120, nWarmUpFrames=10, threshold=1
        )
        self.measured_hz = float(measured) if measured else None
        if refresh_hz is None and self.measured_hz is None:
            self.win.close()
            raise LabError(
                "the refresh rate could not be measured (no stable frame timing); pass "
                "--refresh-rate."
            )
        self.refresh_hz = float(refresh_hz or self.measured_hz)
        self.declared = refresh_hz is not None
        self.period = 1.0 / self.refresh_hz
        # Flips faster than the declared rate mean no vertical sync (a virtual display):
        # each flip is then held back to the declared rate, so that durations in time
        # (response deadlines, simulated reaction times) keep their relation to frames.
        self.paced = self.declared and (
            self.measured_hz is None or self.measured_hz > 1.25 * self.refresh_hz
        )
        self._last_flip: float | None = None
        self._due: float | None = None
        self.screenshot_dir: Path | None = None
        self._screenshots_taken: set[str] = set()

    @property
    def last_flip(self) -> float:
        """Time of the last flip (NaN before the first)."""
        return float("nan") if self._last_flip is None else self._last_flip

    def describe(self) -> dict[str, Any]:
        """Screen facts for the sidecar."""
        return {
            "refresh_hz": self.refresh_hz,
            "refresh_declared": self.declared,
            "refresh_measured_hz": self.measured_hz,
            "size_px": [int(v) for v in self.win.size],
            "fullscreen": bool(self.win._isFullScr),
            "window_position_px": list(self.window_position()),
            "flips_paced_in_software": self.paced,
        }

    def show(
        self,
        stimuli: list[Any],
        n_frames: int,
        *,
        screenshot: str | None = None,
        capture: bool = False,
    ) -> Shown:
        """Draw ``stimuli`` on ``n_frames`` consecutive flips; return the onset and dropped frames.

        A frame interval above 1.5 refresh periods counts as dropped. With ``capture`` (or
        a ``screenshot`` name) the first frame is read back from the drawing buffer just
        before it is shown: exactly the pixels on the screen (``Shown.pixels``).
        """
        times, pixels = [], None
        previous = [self._last_flip] if self._last_flip is not None else []
        for index in range(n_frames):
            for stimulus in stimuli:
                stimulus.draw()
            if index == 0 and (capture or self._wants(screenshot)):
                pixels = self._read_back_buffer()
                self._save(screenshot, pixels)
            times.append(self._flip())
        if not times:
            return Shown(onset=float("nan"), frames=0, dropped=0)
        intervals = np.diff([*previous, *times])
        dropped = int((intervals > 1.5 * self.period).sum())
        return Shown(onset=times[0], frames=len(times), dropped=dropped, pixels=pixels)

    def flip(self, stimuli: list[Any] = (), *, screenshot: str | None = None) -> float:
        """One frame of ``stimuli`` (used while waiting for a response)."""
        for stimulus in stimuli:
            stimulus.draw()
        if self._wants(screenshot):
            self._save(screenshot, self._read_back_buffer())
        return self._flip()

    def _flip(self) -> float:
        """Flip; without vertical sync, not before one declared period after the last flip."""
        if self.paced:
            from psychopy import core

            now = core.getTime()
            # Flips keep to a grid of periods, so the time a flip takes does not add up;
            # after a pause longer than a period the grid starts again.
            if self._due is None or now > self._due + self.period:
                self._due = now
            while (left := self._due - core.getTime()) > 0:
                time.sleep(max(left - 0.001, 0))
            self._due += self.period
        self._last_flip = self.win.flip()
        return self._last_flip

    def _read_back_buffer(self) -> np.ndarray:
        """What has been drawn for the next flip: (height, width, 3) uint8."""
        frame = self.win.getMovieFrame(buffer="back")
        self.win.movieFrames.clear()
        return np.asarray(frame.convert("RGB"))

    def _wants(self, name: str | None) -> bool:
        return (
            bool(name) and self.screenshot_dir is not None and name not in self._screenshots_taken
        )

    def _save(self, name: str | None, pixels: np.ndarray) -> None:
        """Save ``<screenshot_dir>/<name>.png`` once per name."""
        if not self._wants(name):
            return
        from PIL import Image

        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(self.screenshot_dir / f"{name}.png")
        self._screenshots_taken.add(name)

    def window_position(self) -> tuple[int, int]:
        """The screen position of the window's top-left corner."""
        if self.win._isFullScr:
            return (0, 0)
        left, top = self.win.winHandle.get_location()
        return int(left), int(top)

    def to_screen(self, x: float, y: float) -> tuple[int, int]:
        """Window pixel coordinates (origin at the centre, y up) to screen coordinates."""
        left, top = self.window_position()
        width, height = self.win.size
        return round(left + width / 2 + x), round(top + height / 2 - y)

    def close(self) -> None:
        """Close the window."""
        self.win.close()
