r"""Backward masks: 1/f (pink) noise of any size, and the mask of each lab paradigm.

References
----------
.. [1] Geirhos et al. (2018). Generalisation in humans and deep neural networks. NeurIPS
   (200 ms full-contrast pink-noise mask after each image).
.. [2] Serre, Oliva & Poggio (2007). A feedforward architecture accounts for rapid
   categorization. PNAS, 104(15), 6424-6429 (1/f noise mask after a brief image).
.. [3] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
   invariances between biological and artificial neural networks. Nature Neuroscience.
"""

from __future__ import annotations

import numpy as np

from psychoalign.stimuli.images import StimulusSetError

__all__ = ["PARADIGM_MASKS", "paradigm_mask", "pink_noise"]


def pink_noise(
    size: tuple[int, int],
    rng: np.random.Generator,
    *,
    exponent: float = 1.0,
    n: int | None = None,
) -> np.ndarray:
    r"""Full-contrast grayscale noise with a :math:`1/f^\alpha` amplitude spectrum.

    Parameters
    ----------
    size
        (height, width) in pixels, any size.
    rng
        Source of the random phases.
    exponent
        :math:`\alpha`; 1 gives pink noise, 0 white noise, 2 brown noise.
    n
        Number of masks; None for a single (height, width, 3) image.

    Returns
    -------
    numpy.ndarray
        (height, width, 3), or (n, height, width, 3), in [0, 1], each mask stretched to
        span exactly 0 to 1.

    Notes
    -----
    Gaussian white noise is filtered in the Fourier domain by
    :math:`|f|^{-\alpha}` (f in cycles per image, the mean removed), transformed back, and
    scaled linearly so that its minimum is 0 and its maximum 1.
    """
    height, width = size
    if height < 2 or width < 2:
        raise StimulusSetError(f"size: a mask needs at least 2 x 2 pixels, not {height} x {width}.")
    count = 1 if n is None else n
    fy = np.fft.fftfreq(height)[:, None] * height
    fx = np.fft.rfftfreq(width)[None, :] * width
    radius = np.hypot(fy, fx)
    gain = np.zeros_like(radius)
    gain[radius > 0] = radius[radius > 0] ** -exponent
    white = rng.standard_normal((count, height, width))
    noise = np.fft.irfft2(np.fft.rfft2(white) * gain, s=(height, width))
    low = noise.min(axis=(1, 2), keepdims=True)
    high = noise.max(axis=(1, 2), keepdims=True)
    masks = np.repeat(((noise - low) / (high - low))[..., None], 3, axis=-1)
    return masks[0] if n is None else masks


#: The backward mask of each lab paradigm: the spectral exponent of its noise.
PARADIGM_MASKS: dict[str, dict[str, float]] = {
    "noise_degraded": {"exponent": 1.0},  # Geirhos et al. 2018: full-contrast pink noise
    "rapid_categorization": {"exponent": 1.0},  # Serre et al. 2007: 1/f noise mask
    "metamer_recognition": {"exponent": 1.0},  # Feather et al. 2023: pink noise
}


def paradigm_mask(
    paradigm: str, size: tuple[int, int], rng: np.random.Generator, *, n: int | None = None
) -> np.ndarray:
    """Draw the backward mask of a lab paradigm (see :data:`PARADIGM_MASKS`) at ``size``."""
    if paradigm not in PARADIGM_MASKS:
        raise StimulusSetError(
            f"paradigm: '{paradigm}' has no mask; masked paradigms are {', '.join(PARADIGM_MASKS)}."
        )
    return pink_noise(size, rng, n=n, **PARADIGM_MASKS[paradigm])
