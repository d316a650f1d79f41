"""Durations to whole frames (known counts, refusals that name the setting), and the flag of
a presented duration more than a frame off."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psychoalign.lab.display import Shown
from psychoalign.lab.errors import LabError
from psychoalign.lab.paradigm import PRESENTATION_COLUMNS, presentation_record
from psychoalign.lab.timing import frame_table, frames, frames_in_range, off_by_more_than_a_frame


@pytest.mark.parametrize(
    ("duration_ms", "refresh_hz", "expected"),
    [
        (200, 60, 12),  # Geirhos et al. 2018: 200 ms image at 60 Hz
        (50, 60, 3),
        (33, 60, 2),  # 33.33 ms is two frames; 33 is within the 0.5 ms tolerance
        (16.7, 60, 1),
        (0, 60, 0),
        (80, 100, 8),
        (20, 100, 2),
    ],
)
def test_whole_frames(duration_ms, refresh_hz, expected):
    assert frames(duration_ms, refresh_hz, "stimulus") == expected


def test_a_duration_between_frames_is_refused_with_its_neighbours():
    with pytest.raises(LabError) as refused:
        frames(80, 60, "mask")
    assert str(refused.value) == (
        "durations_ms.mask: 80 ms is not a whole number of frames at 60 Hz (one frame = "
        "16.67 ms; 4 frames = 66.7 ms, 5 frames = 83.3 ms)."
    )
    with pytest.raises(LabError, match="300 ms is not a whole number of frames at 144 Hz"):
        frames(300, 144, "stimulus")


@given(st.integers(0, 400), st.sampled_from([60, 75, 85, 100, 120, 144, 165, 240]))
def test_a_whole_number_of_frames_round_trips(count, refresh_hz):
    assert frames(count * 1000 / refresh_hz, refresh_hz, "x") == count


def test_a_range_gives_the_whole_frames_inside_it():
    assert frames_in_range([1100, 1500], 60, "fixation") == (66, 90)  # 1100 ms, 1500 ms
    assert frames_in_range([1000, 1010], 60, "fixation") == (60, 60)
    with pytest.raises(LabError, match="no whole number of frames lies in"):
        frames_in_range([1001, 1010], 60, "fixation")
    with pytest.raises(LabError, match=r"give a \[low, high\] range"):
        frames_in_range([1500, 1100], 60, "fixation")


def test_the_frame_table_checks_every_duration():
    table = frame_table({"fixation": [1100, 1500], "stimulus": 200, "isi": 16.67}, 60)
    assert table == {"fixation": (66, 90), "stimulus": 12, "isi": 1}
    with pytest.raises(LabError, match=r"durations_ms\.mask: 80 ms"):
        frame_table({"stimulus": 200, "mask": 80}, 60)


@pytest.mark.parametrize(
    ("n_frames", "duration_s", "period_s", "flagged"),
    [
        (12, 0.2, 1 / 60, False),  # 200 ms at 60 Hz, as planned
        (12, 13 / 60, 1 / 60, False),  # one frame too long: within a frame
        (12, 14 / 60, 1 / 60, True),  # two frames too long
        (12, 10 / 60, 1 / 60, True),
        (100, 0.069, 1 / 500, True),  # Xvfb at 500 Hz: 100 "frames" in 69-88 ms
        (100, 0.088, 1 / 500, True),
        (12, float("nan"), 1 / 60, False),  # not measured: nothing to judge
    ],
)
def test_a_duration_more_than_a_frame_off_is_flagged(n_frames, duration_s, period_s, flagged):
    assert off_by_more_than_a_frame(n_frames, duration_s, period_s) is flagged


def test_the_presentation_record_flags_the_stimulus_duration():
    """The 500 Hz run of the issue: 100 frames of a 200 ms image recorded as 69 ms, unflagged."""
    period = 1 / 500
    shown = Shown(onset=1.0, frames=100, dropped=2, period=period)
    mask = Shown(onset=1.069, frames=100, dropped=0, period=period)
    assert presentation_record(shown, mask, 1.2)["timing_flag"] is True
    shown = Shown(onset=1.0, frames=12, dropped=0, period=1 / 60)
    blank = Shown(onset=1.2003, frames=1, dropped=0, period=1 / 60)
    mask = Shown(onset=1.217, frames=12, dropped=0, period=1 / 60)
    record = presentation_record(shown, mask, 1.5, blank=blank)
    assert record["timing_flag"] is False
    assert set(record) <= set(PRESENTATION_COLUMNS)
