"""What each paradigm draws, checked in screenshots taken from the window's back buffer.

The screenshots of one run per paradigm (fixation, stimulus, mask, response screen) are
compared with what they must show: the background grey of the configuration, the
stimulus file pixel for pixel, a 1/f noise mask over the stimulus region, and the 16 icons
of the response screen where the clicks are counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from psychoalign.datasets import data_dir
from psychoalign.lab.config import load_config
from psychoalign.stimuli import StimulusSet

WINDOW = (1024, 768)  # the default window of `psychoalign run --window`
NO_PRACTICE = "practice_trials: 0\nsimulation: {rt_ms: [80, 160]}\n"
SCREENS = ("metamer_recognition", "noise_degraded", "rapid_categorization")


@pytest.fixture(scope="module")
def screens(xvfb, cache, tmp_path_factory):
    """One trial of each paradigm with screenshots: {paradigm: (folder, sidecar record)}."""
    import subprocess

    from lab_support import lab_command, lab_env

    taken = {}
    for paradigm in SCREENS:
        root = tmp_path_factory.mktemp(paradigm)
        config = root / "config.yaml"
        config.write_text(NO_PRACTICE)
        result = subprocess.run(
            lab_command(
                paradigm,
                *("--participant", "01", "--simulate", "random", "--trials", "1"),
                *("--data-dir", str(root / "data"), "--config", str(config)),
                *("--screenshots", str(root / "screens")),
            ),
            env=lab_env(xvfb, cache),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        [sidecar] = (root / "data" / paradigm).glob("*.json")
        taken[paradigm] = (root / "screens", json.loads(sidecar.read_text()))
    return taken


def _screen(folder: Path, name: str) -> np.ndarray:
    pixels = np.asarray(Image.open(folder / f"{name}.png").convert("RGB")).astype(int)
    assert pixels.shape == (WINDOW[1], WINDOW[0], 3)
    return pixels


def _grey(paradigm: str) -> int:
    return round(load_config(paradigm)["background_grey"] * 255)


def _centred(frame: np.ndarray, height: int, width: int, x: float = 0, y: float = 0) -> np.ndarray:
    """The rectangle of a stimulus centred at window coordinates (x right, y up)."""
    top = round(WINDOW[1] / 2 - y - height / 2)
    left = round(WINDOW[0] / 2 + x - width / 2)
    return frame[top : top + height, left : left + width]


@pytest.mark.parametrize("paradigm", SCREENS)
def test_the_fixation_is_a_dark_cross_on_the_background(screens, paradigm):
    frame = _screen(screens[paradigm][0], "fixation")
    grey = _grey(paradigm)
    assert np.abs(frame[:200] - grey).max() <= 1 and np.abs(frame[:, :400] - grey).max() <= 1
    cross = _centred(frame, 20, 20)
    assert (cross.mean(axis=2) < 10).mean() > 0.3  # black arms through the centre
    assert cross[10, 10].max() < 10 and cross[0, 0].min() >= grey - 1  # corners are background


@pytest.mark.parametrize("paradigm", SCREENS)
def test_the_stimulus_is_drawn_pixel_for_pixel(screens, paradigm):
    folder, record = screens[paradigm]
    stimuli = StimulusSet.open(record["stimulus_set"]["path"])
    first = record["plan"][0]["stimulus"]
    expected = np.asarray(Image.open(stimuli.file(first)).convert("RGB")).astype(int)
    frame = _screen(folder, "stimulus")
    drawn = _centred(frame, *expected.shape[:2])
    assert np.array_equal(drawn, expected)
    border = np.concatenate([frame[:100].ravel(), frame[-100:].ravel()])
    assert np.abs(border - _grey(paradigm)).max() <= 1


@pytest.mark.parametrize("paradigm", SCREENS)
def test_the_mask_is_full_contrast_pink_noise_over_the_image(screens, paradigm):
    folder, record = screens[paradigm]
    stimuli = StimulusSet.open(record["stimulus_set"]["path"])
    height, width = np.asarray(Image.open(stimuli.file(record["plan"][0]["stimulus"]))).shape[:2]
    frame = _screen(folder, "mask")
    mask = _centred(frame, height, width)
    assert (mask[..., 0] == mask[..., 1]).all() and (mask[..., 1] == mask[..., 2]).all()  # grey
    assert mask.min() <= 5 and mask.max() >= 250  # full contrast
    spectrum = np.abs(np.fft.fft2(mask[..., 0] - mask[..., 0].mean())) ** 2
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij"))
    bands = [(spectrum[(frequency >= f) & (frequency < 2 * f)]).mean() for f in (1 / 64, 1 / 8)]
    assert bands[0] > 20 * bands[1]  # power falls with frequency: 1/f, not white noise
    beyond = _centred(frame, height + 40, width + 40)
    assert np.abs(beyond[:10] - _grey(paradigm)).max() <= 1


@pytest.mark.parametrize("paradigm", ["noise_degraded", "metamer_recognition"])
def test_the_response_screen_shows_the_sixteen_icons_where_clicks_count(screens, paradigm):
    frame = _screen(screens[paradigm][0], "response")
    grey = _grey(paradigm)
    icons = load_config(paradigm)["response"]["icons"]
    step = 129 + 10
    for r, row in enumerate(icons):
        for c, category in enumerate(row):
            icon = Image.open(data_dir() / "response-screen-icons" / f"{category}.png")
            background = Image.new("RGBA", icon.size, (grey, grey, grey, 255))
            expected = np.asarray(Image.alpha_composite(background, icon.convert("RGBA")))
            drawn = _centred(frame, 129, 129, x=(c - 1.5) * step, y=(1.5 - r) * step)
            assert np.abs(drawn - expected[..., :3].astype(int)).max() <= 2, category


def test_rapid_categorization_waits_for_keys_on_a_blank_screen(screens):
    frame = _screen(screens["rapid_categorization"][0], "response")
    assert np.abs(frame - _grey("rapid_categorization")).max() <= 1
