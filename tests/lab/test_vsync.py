"""Vertical sync: judged from flip intervals, refused without it unless a rate is declared."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from lab_support import lab_command, lab_env

from psychoalign.lab.display import Display, _refresh_rate
from psychoalign.lab.errors import LabError
from psychoalign.lab.timing import MAX_REFRESH_HZ, flip_timing

RNG = np.random.default_rng(0)
#: A 60 Hz display in sync: intervals within a few tenths of a millisecond of 16.67 ms.
SYNCED = 1 / 60 + RNG.normal(0, 0.0002, 60)


def test_tight_60_hz_flips_are_in_sync():
    flips = flip_timing(SYNCED, 1 / 60 + RNG.normal(0, 0.0002, 20))
    assert flips.vsync and flips.rate_hz == pytest.approx(60, rel=0.01)
    assert flips.clustered == 1.0 and flips.iqr_ms < 0.5
    assert flips.summary()["n_flips"] == 60


def test_a_few_dropped_frames_do_not_hide_the_sync():
    intervals = SYNCED.copy()
    intervals[::10] = 2 / 60  # 6 of 60 frames dropped
    assert flip_timing(intervals, [1 / 60] * 20).vsync


@pytest.mark.parametrize(
    ("intervals", "paused", "why"),
    [
        (RNG.uniform(0.001, 0.020, 60), None, "intervals spread evenly do not cluster"),
        (1 / 900 + RNG.normal(0, 1e-5, 60), None, "900 Hz is faster than any display"),
        (np.full(60, 1 / (MAX_REFRESH_HZ + 1)), [1 / (MAX_REFRESH_HZ + 1)] * 20, "the bound"),
        # Xvfb at 500 Hz, clustered: half a period's pause makes every interval 1.5 times
        # longer, which a flip waiting for the retrace would absorb.
        (np.full(60, 0.002), [0.003] * 20, "a pause delays the flips"),
    ],
)
def test_flips_without_vertical_sync_are_found(intervals, paused, why):
    assert not flip_timing(intervals, paused).vsync, why


def test_flip_intervals_must_be_times():
    with pytest.raises(LabError, match="flip intervals"):
        flip_timing([])
    with pytest.raises(LabError, match="flip intervals"):
        flip_timing([0.01, -0.01])


@pytest.mark.parametrize("rate", [0, -60, math.nan, math.inf])
def test_a_declared_rate_must_be_a_positive_rate(rate):
    """``--refresh-rate 0`` used to mean "measure"; now it is refused before any window opens."""
    with pytest.raises(LabError) as refused:
        Display(background_grey=0.5, fullscreen=False, refresh_hz=rate)
    message = str(refused.value)
    assert message.startswith(f"--refresh-rate: {rate:g} is not a refresh rate;")
    assert message.count(". ") == 0 and message.endswith(".")


def test_the_rate_is_the_measured_one_in_sync_and_must_be_declared_without():
    synced = flip_timing(SYNCED, [1 / 60] * 20)
    assert _refresh_rate(synced, None) == pytest.approx(60, rel=0.01)
    assert _refresh_rate(synced, 60) == 60
    with pytest.raises(LabError, match="120 Hz is not the rate of this display, which flips"):
        _refresh_rate(synced, 120)
    unsynced = flip_timing(np.full(60, 0.002), [0.003] * 20)
    assert _refresh_rate(unsynced, 60) == 60  # declared: paced in software
    with pytest.raises(LabError, match="--refresh-rate: the display seems to lack vertical"):
        _refresh_rate(unsynced, None)


def test_a_display_without_vertical_sync_is_refused_unless_a_rate_is_declared(
    xvfb, cache, tmp_path
):
    """Xvfb flips as fast as it draws: the run must be refused every time, naming the option."""
    data = tmp_path / "data"
    result = subprocess.run(
        lab_command(
            "noise_degraded",
            *("--participant", "01", "--simulate", "random", "--data-dir", str(data)),
            refresh_rate=None,
        ),
        env=lab_env(xvfb, cache),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [message] = [line for line in result.stderr.splitlines() if "--refresh-rate" in line]
    assert message.lower().startswith("error: --refresh-rate: the display seems to lack vertical")
    assert "flips came a median" in message and "pass --refresh-rate" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert not list(data.rglob("*.csv"))  # refused before the first trial
