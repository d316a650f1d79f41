from __future__ import annotations

import numpy as np
import pytest

from psychoalign.stimuli import PARADIGM_MASKS, StimulusSetError, paradigm_mask, pink_noise


def _spectral_slope(image: np.ndarray) -> float:
    """Slope of log amplitude against log radial frequency (cycles per image)."""
    amplitude = np.abs(np.fft.fft2(image - image.mean()))
    fy = np.fft.fftfreq(image.shape[0])[:, None] * image.shape[0]
    fx = np.fft.fftfreq(image.shape[1])[None, :] * image.shape[1]
    radius = np.hypot(fy, fx)
    band = (radius >= 2) & (radius <= min(image.shape) / 4)
    return float(np.polyfit(np.log(radius[band]), np.log(amplitude[band]), 1)[0])


@pytest.mark.parametrize("exponent", [1.0, 2.0, 0.0])
def test_noise_has_the_requested_spectral_slope(exponent):
    mask = pink_noise((256, 256), np.random.default_rng(0), exponent=exponent)
    assert _spectral_slope(mask[..., 0]) == pytest.approx(-exponent, abs=0.1)


def test_masks_have_full_contrast_at_any_size():
    masks = pink_noise((37, 53), np.random.default_rng(1), n=3)
    assert masks.shape == (3, 37, 53, 3)
    assert (masks.min(axis=(1, 2, 3)) == 0).all() and (masks.max(axis=(1, 2, 3)) == 1).all()
    assert (masks == masks[..., :1]).all()
    assert not np.array_equal(masks[0], masks[1])


def test_masks_are_reproducible_from_the_seed():
    first = pink_noise((64, 64), np.random.default_rng(5))
    np.testing.assert_array_equal(first, pink_noise((64, 64), np.random.default_rng(5)))


def test_every_masked_paradigm_has_its_mask():
    for paradigm in PARADIGM_MASKS:
        assert paradigm_mask(paradigm, (32, 32), np.random.default_rng(0)).shape == (32, 32, 3)
    with pytest.raises(StimulusSetError, match=r"paradigm: 'clickme' has no mask"):
        paradigm_mask("clickme", (32, 32), np.random.default_rng(0))


def test_a_mask_needs_two_pixels():
    with pytest.raises(StimulusSetError, match=r"size: a mask needs at least 2 x 2 pixels"):
        pink_noise((1, 10), np.random.default_rng(0))
