"""Frames: durations in milliseconds to whole frames, whether flips keep to a vertical sync.

Durations are refused when they are not whole frames at the refresh rate
(:func:`frames`). Whether the display flips in vertical sync is judged from flip intervals
measured before the first trial (:func:`flip_timing`), and a presented duration more than
a frame away from its frames is flagged (:func:`off_by_more_than_a_frame`). Plain numpy:
the window itself is :mod:`psychoalign.lab.display`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from psychoalign.lab.errors import LabError

__all__ = [
    "CLUSTERED_FRACTION",
    "FRAME_TOLERANCE_MS",
    "MAX_REFRESH_HZ",
    "PAUSE_DELAY_RATIO",
    "FlipTiming",
    "flip_timing",
    "frame_table",
    "frames",
    "frames_in_range",
    "off_by_more_than_a_frame",
]

#: How far a duration may be from a whole number of frames and still count as whole.
FRAME_TOLERANCE_MS = 0.5
#: The fastest refresh rate taken for a display's: the fastest monitors sold refresh at
#: 500-750 Hz; flips faster than this come as fast as the computer can draw, not in sync.
MAX_REFRESH_HZ = 800.0
#: With vertical sync at least this fraction of flip intervals lie within 10 % of their
#: median (a few frames may be dropped); without it they spread with the drawing time.
CLUSTERED_FRACTION = 0.75
#: With vertical sync a pause of half a frame after a flip does not delay the next one
#: (it waits for the retrace anyway); without it the interval grows by the pause (x 1.5).
PAUSE_DELAY_RATIO = 1.25


def frames(duration_ms: float, refresh_hz: float, name: str) -> int:
    """Whole frames of ``duration_ms`` at ``refresh_hz``; refuses durations between frames.

    Examples
    --------
    >>> frames(200, 60, "stimulus")
    12
    >>> frames(33, 60, "stimulus")  # 33 ms is within 0.5 ms of two frames (33.3 ms)
    2
    """
    period = 1000.0 / refresh_hz
    count = round(duration_ms / period)
    if duration_ms < 0 or abs(count * period - duration_ms) > FRAME_TOLERANCE_MS:
        below, above = int(duration_ms // period), int(duration_ms // period) + 1
        raise LabError(
            f"durations_ms.{name}: {duration_ms:g} ms is not a whole number of frames at "
            f"{refresh_hz:g} Hz (one frame = {period:.2f} ms; {below} frames = "
            f"{below * period:.1f} ms, {above} frames = {above * period:.1f} ms)."
        )
    return int(count)


def frames_in_range(bounds: Sequence[float], refresh_hz: float, name: str) -> tuple[int, int]:
    """The whole frame counts inside a [low, high] range in ms (a random duration's choices)."""
    if len(bounds) != 2 or bounds[0] > bounds[1]:
        raise LabError(f"durations_ms.{name}: give a [low, high] range in ms, not {list(bounds)}.")
    period = 1000.0 / refresh_hz
    low = int(-(-(bounds[0] - FRAME_TOLERANCE_MS) // period))
    high = int((bounds[1] + FRAME_TOLERANCE_MS) // period)
    if low > high:
        raise LabError(
            f"durations_ms.{name}: no whole number of frames lies in {list(bounds)} ms at "
            f"{refresh_hz:g} Hz."
        )
    return low, high


def frame_table(
    durations_ms: Mapping[str, float | Sequence[float]], refresh_hz: float
) -> dict[str, int | tuple[int, int]]:
    """Every configured duration as frames (ranges as (low, high)), all checked at once.

    Examples
    --------
    >>> frame_table({"stimulus": 200, "fixation": [1100, 1500]}, 60)
    {'stimulus': 12, 'fixation': (66, 90)}
    """
    table: dict[str, int | tuple[int, int]] = {}
    for name, value in durations_ms.items():
        if isinstance(value, (list, tuple)):
            table[name] = frames_in_range(value, refresh_hz, name)
        else:
            table[name] = frames(float(value), refresh_hz, name)
    return table


@dataclass(frozen=True)
class FlipTiming:
    """Flip intervals measured before the first trial, and whether they show vertical sync.

    Attributes
    ----------
    n_flips
        Back-to-back flip intervals measured.
    median_ms, iqr_ms
        Their median and interquartile range.
    clustered
        Fraction of them within 10 % of the median.
    paused_median_ms
        Median interval when each flip follows the last by a pause of half the median
        (NaN when not measured).
    vsync
        Whether the flips keep to a vertical sync: a rate of at most
        :data:`MAX_REFRESH_HZ`, at least :data:`CLUSTERED_FRACTION` of the intervals
        clustered, and the pause not delaying the flips by :data:`PAUSE_DELAY_RATIO` or
        more.
    """

    n_flips: int
    median_ms: float
    iqr_ms: float
    clustered: float
    paused_median_ms: float
    vsync: bool

    @property
    def rate_hz(self) -> float:
        """The rate of the median interval."""
        return 1000.0 / self.median_ms

    def summary(self) -> dict[str, Any]:
        """The measurement for the session's sidecar."""
        return {
            "n_flips": self.n_flips,
            "median_ms": round(self.median_ms, 4),
            "iqr_ms": round(self.iqr_ms, 4),
            "within_10_percent": round(self.clustered, 4),
            "after_half_median_pause_ms": round(self.paused_median_ms, 4),
        }

    def without_vsync(self) -> str:
        """Why the flips seem not to keep to a vertical sync, in numbers (a clause)."""
        return (
            f"{self.n_flips} flips came a median {self.median_ms:.2f} ms apart "
            f"({self.rate_hz:.0f} Hz), {self.clustered:.0%} of them within 10% of that, and "
            f"{self.paused_median_ms:.2f} ms apart after a pause of {self.median_ms / 2:.2f} ms "
            "that vertical sync would absorb"
        )


def flip_timing(
    intervals_s: Sequence[float], paused_intervals_s: Sequence[float] | None = None
) -> FlipTiming:
    """Judge from measured flip intervals whether the display flips in vertical sync.

    Parameters
    ----------
    intervals_s
        Intervals between back-to-back flips, in seconds (after a warm-up).
    paused_intervals_s
        Intervals between flips each made half a median interval after the last one
        returned; None leaves this test out.

    Returns
    -------
    FlipTiming
        The median, spread and verdict.

    Notes
    -----
    With vertical sync every flip waits for the display's retrace: intervals cluster on one
    period (a dropped frame gives two) at a rate no display exceeds, and a pause shorter
    than a period is absorbed by the wait. Without it (a virtual display such as Xvfb) a
    flip returns as soon as the drawing is done: the rate is the computer's, the intervals
    spread with its load, and a pause adds to them.

    Examples
    --------
    >>> flip_timing([1 / 60] * 60, [1 / 60] * 20).vsync
    True
    >>> flip_timing([1 / 900] * 60).vsync  # no display refreshes at 900 Hz
    False
    """
    intervals = np.asarray(intervals_s, dtype=float) * 1000
    if intervals.size == 0 or not np.all(np.isfinite(intervals)) or intervals.min() <= 0:
        raise LabError(f"flip intervals: {list(intervals_s)} are not positive times.")
    median = float(np.median(intervals))
    q1, q3 = np.percentile(intervals, [25, 75])
    clustered = float(np.mean(np.abs(intervals - median) <= 0.1 * median))
    paused = (
        float(np.median(paused_intervals_s) * 1000) if paused_intervals_s is not None else math.nan
    )
    vsync = (
        1000.0 / median <= MAX_REFRESH_HZ
        and clustered >= CLUSTERED_FRACTION
        and not paused >= PAUSE_DELAY_RATIO * median  # NaN (not measured) passes
    )
    return FlipTiming(
        n_flips=int(intervals.size),
        median_ms=median,
        iqr_ms=float(q3 - q1),
        clustered=clustered,
        paused_median_ms=paused,
        vsync=bool(vsync),
    )


def off_by_more_than_a_frame(n_frames: int, duration_s: float, period_s: float) -> bool:
    """Whether a presentation of ``n_frames`` lasted more than one frame more or less.

    ``duration_s`` is measured flip to flip (from the first frame's flip to the flip of
    what replaced it); NaN (not measured) is not flagged.

    Examples
    --------
    >>> off_by_more_than_a_frame(12, 0.2004, 1 / 60)  # 200 ms image at 60 Hz
    False
    >>> off_by_more_than_a_frame(100, 0.069, 1 / 500)  # 100 frames at 500 Hz in 69 ms
    True
    """
    return bool(abs(duration_s - n_frames * period_s) > period_s)
