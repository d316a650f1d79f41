"""Durations in milliseconds to whole frames at the refresh rate, refused when not whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from psychoalign.lab.errors import LabError

__all__ = ["FRAME_TOLERANCE_MS", "frame_table", "frames", "frames_in_range"]

#: How far a duration may be from a whole number of frames and still count as whole.
FRAME_TOLERANCE_MS = 0.5


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
