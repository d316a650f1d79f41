from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import color

from psychoalign.datasets import stimulus_set
from psychoalign.stimuli import MANIPULATIONS, StimulusSetError, encode_png, get_manipulation
from psychoalign.stimuli.degrade import (
    BACKGROUND_GREY,
    contrast,
    false_colour,
    grayscale,
    high_pass,
    low_pass,
    mean_amplitude_spectrum,
    phase_scrambling,
    power_equalisation,
    rotation,
    salt_and_pepper,
    uniform_noise,
)


@pytest.fixture(scope="module")
def edge_images() -> np.ndarray:
    edge = stimulus_set("edge")
    return np.stack([edge.load(s) for s in edge.manifest.stimulus[::20]])


@pytest.fixture(scope="module")
def silhouette() -> np.ndarray:
    stimuli = stimulus_set("silhouette")
    return stimuli.load(stimuli.manifest.stimulus[40])


def _grating(frequency: float, size: int = 512) -> np.ndarray:
    """A vertical sinusoidal grating (gray, amplitude 0.25 about 0.5), cycles per pixel."""
    x = np.arange(size)
    row = 0.5 + 0.25 * np.sin(2 * np.pi * frequency * x)
    return np.repeat(np.tile(row, (size, 1))[..., None], 3, axis=2)


def _amplitude(image: np.ndarray, frequency: float, margin: int) -> float:
    """Least-squares amplitude of the grating in the central region (one row of the image)."""
    row = image[image.shape[0] // 2, margin:-margin, 0]
    x = np.arange(margin, image.shape[1] - margin)
    design = np.stack(
        [
            np.ones_like(x, dtype=float),
            np.sin(2 * np.pi * frequency * x),
            np.cos(2 * np.pi * frequency * x),
        ],
        axis=1,
    )
    _, sine, cosine = np.linalg.lstsq(design, row, rcond=None)[0]
    return float(np.hypot(sine, cosine))


def test_grayscale_uses_the_rec709_luminance_of_rgb2gray():
    primaries = np.eye(3)[:, None, :].repeat(2, axis=1)  # rows: red, green, blue pixels
    gray = grayscale(primaries, True)
    assert gray[:, 0, 0].tolist() == pytest.approx([0.2125, 0.7154, 0.0721])
    assert (gray == gray[..., :1]).all()
    np.testing.assert_array_equal(grayscale(primaries, False), primaries)


@pytest.mark.parametrize("level", [1.0, 0.5, 0.1, 0.03])
def test_contrast_sets_the_michelson_contrast(edge_images, level):
    out = contrast(edge_images[0], level)
    luminance = out[..., 0]
    assert (luminance.max() - luminance.min()) / (
        luminance.max() + luminance.min()
    ) == pytest.approx(level)
    assert luminance.mean() == pytest.approx(
        (1 - level) / 2 + level * color.rgb2gray(edge_images[0]).mean()
    )


@pytest.mark.parametrize("width", [0.03, 0.1, 0.35])
def test_uniform_noise_has_the_given_range_around_the_mean_grey(edge_images, width):
    image = edge_images[1]
    out = uniform_noise(image, width, np.random.default_rng(0))
    reduced = contrast(image, 0.3)[..., 0]
    noise = out[..., 0] - reduced
    assert noise.min() >= -width - 1e-12 and noise.max() <= width + 1e-12
    assert noise.min() < -0.99 * width and noise.max() > 0.99 * width
    assert noise.var() == pytest.approx(width**2 / 3, rel=0.03)
    assert out.mean() == pytest.approx(reduced.mean(), abs=3 * width / math.sqrt(3 * noise.size))
    assert (out == out[..., :1]).all()


def test_uniform_noise_is_clipped_to_the_unit_range(edge_images):
    out = uniform_noise(edge_images[1], 0.9, np.random.default_rng(0))
    assert out.min() == 0.0 and out.max() == 1.0


def test_salt_and_pepper_sets_the_fraction_of_black_and_white_pixels(edge_images):
    out = salt_and_pepper(edge_images[2], 0.2, np.random.default_rng(0))[..., 0]
    assert (out == 1.0).mean() == pytest.approx(0.1, abs=0.005)
    assert (out == 0.0).mean() == pytest.approx(0.1, abs=0.005)


@pytest.mark.parametrize("sigma", [1.5, 3.0])
def test_low_pass_halves_the_amplitude_at_its_cut_off(sigma):
    cut_off = math.sqrt(math.log(2) / (2 * math.pi**2 * sigma**2))  # cycles per pixel
    grating = _grating(cut_off)
    margin = int(5 * sigma) + 1
    ratio = _amplitude(low_pass(grating, sigma), cut_off, margin) / _amplitude(
        grating, cut_off, margin
    )
    assert ratio == pytest.approx(0.5, abs=0.01)
    slow = _grating(cut_off / 8)
    expected = 0.25 * 2 ** (-1 / 64)  # H(f/8) = H(f)^(1/64)
    assert _amplitude(low_pass(slow, sigma), cut_off / 8, margin) == pytest.approx(
        expected, rel=1e-3
    )


def test_low_pass_of_zero_is_the_grayscale_image(edge_images):
    np.testing.assert_array_equal(low_pass(edge_images[0], 0.0), grayscale(edge_images[0], True))


def test_high_pass_is_the_complement_of_low_pass():
    sigma = 3.0
    cut_off = math.sqrt(math.log(2) / (2 * math.pi**2 * sigma**2))
    margin = int(5 * sigma) + 1
    ratio = _amplitude(high_pass(_grating(cut_off), sigma), cut_off, margin) / 0.25
    assert ratio == pytest.approx(0.5, abs=0.01)
    assert _amplitude(high_pass(_grating(cut_off / 8), sigma), cut_off / 8, margin) < 0.01
    fine = 0.3
    assert _amplitude(high_pass(_grating(fine), sigma), fine, margin) == pytest.approx(
        0.25, rel=0.01
    )


def test_high_pass_mean_is_the_background_grey(edge_images):
    out = high_pass(edge_images[0] * 0.2 + 0.4, 1.0)
    assert out.mean() == pytest.approx(BACKGROUND_GREY, abs=1e-9)
    np.testing.assert_array_equal(
        high_pass(edge_images[0], math.inf), grayscale(edge_images[0], True)
    )


@pytest.mark.parametrize("width", [30.0, 90.0, 180.0])
def test_phase_scrambling_keeps_the_amplitude_spectrum(edge_images, width):
    image = contrast(edge_images[3], 0.2)  # low contrast: nothing is clipped
    out = phase_scrambling(image, width, np.random.default_rng(1))
    assert out.min() > 0 and out.max() < 1
    before = np.abs(np.fft.fft2(image[..., 0]))
    after = np.abs(np.fft.fft2(out[..., 0]))
    assert np.abs(after - before).max() < 1e-6
    assert np.abs(out - image).max() > 0.01
    assert out.mean() == pytest.approx(image.mean(), abs=1e-12)


def test_phase_scrambling_by_zero_degrees_changes_nothing(edge_images):
    out = phase_scrambling(edge_images[0], 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(out, grayscale(edge_images[0], True), atol=1e-12)


def test_rotation_by_quarter_turns_permutes_pixels(silhouette):
    np.testing.assert_array_equal(rotation(silhouette, 90), np.rot90(silhouette))
    np.testing.assert_array_equal(rotation(silhouette, 180), silhouette[::-1, ::-1])
    np.testing.assert_array_equal(rotation(silhouette, -90), rotation(silhouette, 270))
    np.testing.assert_array_equal(rotation(silhouette, 360), silhouette)


def test_rotation_by_other_angles_matches_quarter_turns_in_the_limit(silhouette):
    nearly = rotation(silhouette, 89.999)
    interior = (slice(20, -20), slice(20, -20))
    assert np.abs(nearly - np.rot90(silhouette))[interior].mean() < 0.01
    assert rotation(silhouette, 45)[0, 0, 0] == pytest.approx(BACKGROUND_GREY)


def test_false_colour_mirrors_the_opponent_axes_and_keeps_lightness():
    rng = np.random.default_rng(0)
    image = 0.4 + 0.2 * rng.random((16, 16, 3))  # muted colours stay in gamut
    out = false_colour(image, True)
    before, after = color.rgb2lab(image), color.rgb2lab(out)
    np.testing.assert_allclose(after[..., 0], before[..., 0], atol=1e-6)
    np.testing.assert_allclose(after[..., 1:], -before[..., 1:], atol=1e-6)
    np.testing.assert_allclose(false_colour(out, True), image, atol=1e-9)
    np.testing.assert_array_equal(false_colour(image, False), image)


def test_power_equalisation_gives_every_image_the_mean_amplitude(edge_images):
    batch = np.stack([contrast(image, 0.15) for image in edge_images[:4]])
    out = power_equalisation(batch, True)
    assert out.min() > 0 and out.max() < 1
    target = np.abs(np.fft.fft2(batch[..., 0])).mean(axis=0)
    for equalised in out:
        assert np.abs(np.abs(np.fft.fft2(equalised[..., 0])) - target).max() < 1e-6


def test_power_equalisation_needs_one_size(edge_images):
    with pytest.raises(StimulusSetError, match=r"power equalisation needs images of one size"):
        power_equalisation(edge_images[0][:100], True, amplitude=np.ones((224, 224)))


@pytest.mark.parametrize("name", [n for n, m in MANIPULATIONS.items() if m.random])
def test_random_manipulations_are_reproducible_from_the_seed(edge_images, name):
    method = MANIPULATIONS[name]
    level = method.level(method.default_levels[-1])
    first = method.function(edge_images[0], level, np.random.default_rng(7))
    again = method.function(edge_images[0], level, np.random.default_rng(7))
    other = method.function(edge_images[0], level, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("name", [n for n, m in MANIPULATIONS.items() if not m.random])
def test_deterministic_manipulations_are_vectorised_over_a_batch(edge_images, name):
    method = MANIPULATIONS[name]
    level = method.level(method.default_levels[-1])
    batch = method.function(edge_images, level, None)
    assert batch.shape == edge_images.shape
    if name == "power-equalisation":  # the default target is the batch's own mean spectrum
        return
    for image, out in zip(edge_images, batch, strict=True):
        np.testing.assert_array_equal(method.function(image, level, None), out)


@pytest.mark.parametrize(
    ("name", "label", "value"),
    [
        ("contrast", "c05", 0.05),
        ("contrast", "0.5", 0.5),
        ("uniform-noise", "0.35", 0.35),
        ("high-pass", "inf", math.inf),
        ("grayscale", "bw", True),
        ("false-colour", "true", True),
        ("power-equalisation", "pow", True),
        ("rotation", "-90", -90.0),
    ],
)
def test_level_labels(name, label, value):
    assert get_manipulation(name).level(label) == value


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("uniform-noise", "1.5"),
        ("uniform-noise", "-0.1"),
        ("contrast", "0"),
        ("contrast", "c200"),
        ("phase-scrambling", "181"),
        ("high-pass", "0"),
        ("low-pass", "nan"),
        ("rotation", "inf"),
        ("false-colour", "maybe"),
    ],
)
def test_levels_outside_the_valid_range_are_refused(name, label):
    expected = rf"levels: '{label}' is not a valid level of {name}"
    with pytest.raises(StimulusSetError, match=expected):
        get_manipulation(name).level(label)


def test_unknown_manipulation_is_named():
    with pytest.raises(
        StimulusSetError, match=r"manipulation: 'blur' is not known; choose from grayscale"
    ):
        get_manipulation("blur")


@pytest.mark.parametrize("name", list(MANIPULATIONS))
def test_prepare_then_apply_writes_the_png_of_the_function(edge_images, name):
    """Stimulus-set making's path (luminance once per source) writes the very same bytes."""
    method = MANIPULATIONS[name]
    colour = np.random.default_rng(0).random((48, 40, 3))  # not square, not gray
    for image in (edge_images[1], colour):
        parameters = {}
        if method.needs_one_size:
            parameters["amplitude"] = mean_amplitude_spectrum([image, image[::-1]])
        prepared = method.prepare(image)
        before = prepared.copy()
        for label in method.default_levels:
            level = method.level(label)
            expected = method.function(image, level, np.random.default_rng(5), **parameters)
            made = method.apply(prepared, level, np.random.default_rng(5), **parameters)
            assert made.shape[:2] == expected.shape[:2]
            assert encode_png(made) == encode_png(expected), label
        np.testing.assert_array_equal(prepared, before)
