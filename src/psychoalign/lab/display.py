"""The PsychoPy window: frame-exact presentation, flip records, screenshots, what was drawn.

Imported only when an experiment runs: it imports PsychoPy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from psychoalign.lab.errors import LabError
from psychoalign.lab.timing import FlipTiming, flip_timing

__all__ = ["Display", "Shown"]


@dataclass(frozen=True)
class Shown:
    """What one presentation did: first flip time, frames flipped, frames dropped, its pixels.

    ``period`` is the refresh period the frames were counted in, in seconds.
    """

    onset: float
    frames: int
    dropped: int
    pixels: np.ndarray | None = None
    period: float = math.nan


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
        if refresh_hz is not None and not (math.isfinite(refresh_hz) and refresh_hz > 0):
            raise LabError(
                f"--refresh-rate: {refresh_hz:g} is not a refresh rate; give the display's rate "
                "in Hz (such as 60), or leave the option out to measure it."
            )
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
        try:
            self.flips = self._measure_flips()
            self.refresh_hz = _refresh_rate(self.flips, refresh_hz)
        except LabError:
            self.win.close()
            raise
        self.measured_hz = self.flips.rate_hz
        self.declared = refresh_hz is not None
        self.period = 1.0 / self.refresh_hz
        # Without vertical sync (a virtual display) a declared rate is kept in software:
        # each flip is held back to it, so that durations in time (response deadlines,
        # simulated reaction times) keep their relation to frames.
        self.paced = not self.flips.vsync
        self._last_flip: float | None = None
        self._due: float | None = None
        self.screenshot_dir: Path | None = None
        self._screenshots_taken: set[str] = set()

    def _measure_flips(self, *, warm_up: int = 10, n: int = 60, n_paused: int = 20) -> FlipTiming:
        """Flip intervals back to back and after a pause of half their median, judged."""
        for _ in range(warm_up):  # the first flips of a window are slow
            self.win.flip()
        times = [self.win.flip() for _ in range(n + 1)]
        intervals = np.diff(times)
        pause = float(np.median(intervals)) / 2
        paused, last = [], self.win.flip()
        for _ in range(n_paused):
            # Waited out on the clock: a sleep can overshoot by more than half a frame.
            until = time.perf_counter() + pause
            while time.perf_counter() < until:
                pass
            flipped = self.win.flip()
            paused.append(flipped - last)
            last = flipped
        return flip_timing(intervals, paused)

    @property
    def last_flip(self) -> float:
        """Time of the last flip (NaN before the first)."""
        return float("nan") if self._last_flip is None else self._last_flip

    def describe(self) -> dict[str, Any]:
        """Screen facts for the sidecar."""
        return {
            "refresh_hz": self.refresh_hz,
            "refresh_declared": self.declared,
            "refresh_measured_hz": round(self.measured_hz, 3),
            "vsync": self.flips.vsync,
            "flip_intervals": self.flips.summary(),
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
            return Shown(onset=float("nan"), frames=0, dropped=0, period=self.period)
        intervals = np.diff([*previous, *times])
        dropped = int((intervals > 1.5 * self.period).sum())
        return Shown(
            onset=times[0], frames=len(times), dropped=dropped, pixels=pixels, period=self.period
        )

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


def _refresh_rate(flips: FlipTiming, declared: float | None) -> float:
    """The rate frames are counted at: the declared one, else the measured one with vsync.

    Raises
    ------
    LabError
        Nothing is declared and the flips keep to no vertical sync, or a rate is declared
        that a display in vertical sync does not have (more than 10 % off).
    """
    if declared is None:
        if not flips.vsync:
            raise LabError(
                "--refresh-rate: the display seems to lack vertical sync, so frames cannot "
                f"time the stimuli: {flips.without_vsync()}; turn vertical sync on, or pass "
                "--refresh-rate with the rate to pace the flips to in software (60 to pilot on "
                "a virtual display)."
            )
        return flips.rate_hz
    if flips.vsync and abs(declared / flips.rate_hz - 1) > 0.1:
        raise LabError(
            f"--refresh-rate: {declared:g} Hz is not the rate of this display, which flips in "
            f"vertical sync at {flips.rate_hz:.1f} Hz; declare that rate or leave the option "
            "out."
        )
    return float(declared)
