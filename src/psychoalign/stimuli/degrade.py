r"""Parametric image degradations of Geirhos et al. (2018), as pure, batched functions.

Every manipulation has the signature ``f(images, level, rng=None, **parameters)``: float
images in [0, 1] of shape (height, width, 3) or a batch (n, height, width, 3), a level in
the manipulation's own unit, and a :class:`numpy.random.Generator` for the random ones.
Nothing else is read or changed, so a stimulus is reproduced exactly from its source image,
its level and its seed. :data:`MANIPULATIONS` names them for the command line, with their
level labels (the condition labels of the model-vs-human datasets) and valid ranges.

References
----------
.. [1] Geirhos, Temme, Rauber, Schütt, Bethge & Wichmann (2018). Generalisation in humans
   and deep neural networks. NeurIPS. Code: github.com/rgeirhos/generalisation-humans-DNNs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from skimage import color  # a lazy package: its colour module loads on first use

from psychoalign.stimuli.images import StimulusSetError

__all__ = [
    "BACKGROUND_GREY",
    "MANIPULATIONS",
    "Manipulation",
    "contrast",
    "false_colour",
    "get_manipulation",
    "grayscale",
    "high_pass",
    "low_pass",
    "phase_scrambling",
    "power_equalisation",
    "rotation",
    "salt_and_pepper",
    "to_grayscale",
    "uniform_noise",
]

#: Mean grey value of Geirhos et al.'s images, the fill value of filters and rotations.
BACKGROUND_GREY = 0.4423
#: Contrast to which the noise manipulations first reduce their images.
NOISE_CONTRAST = 0.3


def _as_batch(images: np.ndarray) -> tuple[np.ndarray, bool]:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3 and images.shape[-1] == 3:
        return images[None], True
    if images.ndim == 4 and images.shape[-1] == 3:
        return images, False
    raise StimulusSetError(
        f"images: shape {images.shape} is neither (height, width, 3) nor (n, height, width, 3)."
    )


def _unbatch(batch: np.ndarray, single: bool) -> np.ndarray:
    return batch[0] if single else batch


def _gray(batch: np.ndarray) -> np.ndarray:
    """Luminance (n, height, width) as skimage's rgb2gray: 0.2125 R + 0.7154 G + 0.0721 B."""
    return color.rgb2gray(batch, channel_axis=-1)


def _stack(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=-1)


def to_grayscale(images: np.ndarray) -> np.ndarray:
    """Grayscale images with three equal channels (skimage ``rgb2gray`` luminance)."""
    batch, single = _as_batch(images)
    return _unbatch(_stack(_gray(batch)), single)


def grayscale(
    images: np.ndarray, level: bool, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Colour (``level`` False, label ``cr``) or grayscale (True, label ``bw``) images.

    Notes
    -----
    .. math:: Y = 0.2125 R + 0.7154 G + 0.0721 B

    (``skimage.color.rgb2gray``), written to all three channels.
    """
    batch, single = _as_batch(images)
    return _unbatch(_stack(_gray(batch)) if level else batch.copy(), single)


def _reduce_contrast(gray: np.ndarray, level: float, rng: Any = None) -> np.ndarray:
    return (1.0 - level) / 2.0 + level * gray


def contrast(
    images: np.ndarray, level: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    r"""Grayscale images at contrast ``level`` (1: unchanged, 0: uniform mid grey).

    Notes
    -----
    .. math:: x' = \frac{1 - c}{2} + c\,x

    applied to the luminance. An image spanning [0, 1] gets Michelson contrast
    :math:`(x'_{max} - x'_{min}) / (x'_{max} + x'_{min}) = c`.
    """
    batch, single = _as_batch(images)
    return _unbatch(_stack(_reduce_contrast(_gray(batch), level)), single)


def _uniform_noise_luminance(
    gray: np.ndarray,
    level: float,
    rng: np.random.Generator,
    *,
    contrast_level: float = NOISE_CONTRAST,
) -> np.ndarray:
    noise = rng.uniform(-level, level, size=gray.shape)
    noise += _reduce_contrast(gray, contrast_level)  # x + y == y + x exactly
    return noise


def uniform_noise(
    images: np.ndarray,
    level: float,
    rng: np.random.Generator,
    *,
    contrast_level: float = NOISE_CONTRAST,
) -> np.ndarray:
    r"""Grayscale, contrast reduced to 0.3, plus uniform noise of width ``level``, clipped.

    Notes
    -----
    .. math:: x' = \mathrm{clip}\left(\frac{1 - 0.3}{2} + 0.3\,Y + u,\ 0,\ 1\right),
              \quad u \sim U(-w, w)

    independently per pixel (one draw for the three equal channels).
    """
    batch, single = _as_batch(images)
    noisy = _uniform_noise_luminance(_gray(batch), level, rng, contrast_level=contrast_level)
    return _unbatch(_stack(noisy), single)


def salt_and_pepper(
    images: np.ndarray,
    level: float,
    rng: np.random.Generator,
    *,
    contrast_level: float = NOISE_CONTRAST,
) -> np.ndarray:
    r"""Grayscale, contrast 0.3, then a fraction ``level`` of pixels set to black or white.

    Notes
    -----
    With :math:`u \sim U(0, 1)` per pixel, pixels with :math:`u \ge 1 - p/2` become white
    and pixels with :math:`u < p/2` black, as in Geirhos et al. (2018).
    """
    batch, single = _as_batch(images)
    salted = _salt_and_pepper_luminance(_gray(batch), level, rng, contrast_level=contrast_level)
    return _unbatch(_stack(salted), single)


def _salt_and_pepper_luminance(
    gray: np.ndarray,
    level: float,
    rng: np.random.Generator,
    *,
    contrast_level: float = NOISE_CONTRAST,
) -> np.ndarray:
    reduced = _reduce_contrast(gray, contrast_level)
    draws = rng.uniform(size=reduced.shape)
    return np.where(draws >= 1 - level / 2, 1.0, np.where(draws < level / 2, 0.0, reduced))


def _gaussian(gray: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each image (n, height, width), grey beyond the border."""
    from scipy import ndimage  # here: importing it costs a command's start-up 0.2 s

    return ndimage.gaussian_filter(
        gray, sigma=(0, sigma, sigma), mode="constant", cval=BACKGROUND_GREY
    )


def low_pass(
    images: np.ndarray, level: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    r"""Grayscale images blurred by a Gaussian of standard deviation ``level`` pixels.

    Notes
    -----
    The filter's frequency response is :math:`H(f) = e^{-2\pi^2\sigma^2 f^2}` (f in
    cycles per pixel): it passes half the amplitude at
    :math:`f_{1/2} = \sqrt{\ln 2 / (2\pi^2\sigma^2)}`. Pixels beyond the border count as
    the background grey 0.4423; :math:`\sigma = 0` leaves the grayscale image unchanged.
    """
    batch, single = _as_batch(images)
    return _unbatch(_stack(_low_pass_luminance(_gray(batch), level)), single)


def _low_pass_luminance(gray: np.ndarray, level: float, rng: Any = None) -> np.ndarray:
    return _gaussian(gray, level) if level > 0 else gray


def high_pass(
    images: np.ndarray, level: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    r"""Grayscale images minus their Gaussian low-pass (standard deviation ``level`` px).

    Notes
    -----
    .. math:: x' = \mathrm{clip}\left(Y - G_\sigma * Y - \overline{(Y - G_\sigma * Y)}
              + 0.4423,\ 0,\ 1\right)

    so the mean is the background grey. :math:`\sigma = \infty` (label ``inf``) leaves
    the grayscale image unchanged.
    """
    batch, single = _as_batch(images)
    return _unbatch(_stack(_high_pass_luminance(_gray(batch), level)), single)


def _high_pass_luminance(gray: np.ndarray, level: float, rng: Any = None) -> np.ndarray:
    if math.isinf(level):
        return gray
    detail = gray - _gaussian(gray, level)
    return detail - detail.mean(axis=(1, 2), keepdims=True) + BACKGROUND_GREY


def _antisymmetric_phases(
    shape: tuple[int, ...], width: float, rng: np.random.Generator
) -> np.ndarray:
    """Uniform phase shifts in [-width, width] with phi(-f) = -phi(f) and 0 where f = -f."""
    height, width_px = shape[-2:]
    rows = np.arange(height)[:, None]
    columns = np.arange(width_px)[None, :]
    index = rows * width_px + columns
    mirror_rows, mirror_columns = (-rows) % height, (-columns) % width_px
    mirror = mirror_rows * width_px + mirror_columns
    draws = rng.uniform(-width, width, size=shape)
    return np.where(
        index < mirror,
        draws,
        np.where(index == mirror, 0.0, -draws[..., mirror_rows, mirror_columns]),
    )


def phase_scrambling(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    r"""Grayscale images with uniform noise of ±``level`` degrees added to every phase.

    Notes
    -----
    .. math:: \hat x'(f) = \hat Y(f)\,e^{i\varphi(f)}, \quad \varphi(f) \sim U(-\theta, \theta),
              \quad \varphi(-f) = -\varphi(f)

    The antisymmetric shifts keep the inverse transform real and the amplitude spectrum
    :math:`|\hat Y|` exactly; the mean (f = 0) is untouched. Values outside [0, 1] are
    then clipped, as in Geirhos et al. (2018).
    """
    batch, single = _as_batch(images)
    return _unbatch(_stack(_phase_scrambling_luminance(_gray(batch), level, rng)), single)


def _phase_scrambling_luminance(
    gray: np.ndarray, level: float, rng: np.random.Generator
) -> np.ndarray:
    spectrum = np.fft.fft2(gray)
    shifts = _antisymmetric_phases(gray.shape, math.radians(level), rng)
    return np.fft.ifft2(spectrum * np.exp(1j * shifts)).real


def rotation(
    images: np.ndarray, level: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Images rotated counter-clockwise by ``level`` degrees (grey fills the corners).

    Multiples of 90 degrees are exact pixel permutations; other angles use bilinear
    interpolation about the centre.
    """
    batch, single = _as_batch(images)
    quarter_turns, remainder = divmod(level % 360, 90)
    if remainder == 0:
        return _unbatch(np.rot90(batch, k=int(quarter_turns), axes=(1, 2)).copy(), single)
    from scipy import ndimage

    rotated = ndimage.rotate(
        batch, level, axes=(2, 1), reshape=False, order=1, mode="constant", cval=BACKGROUND_GREY
    )
    return _unbatch(np.clip(rotated, 0.0, 1.0), single)


def false_colour(
    images: np.ndarray, level: bool, rng: np.random.Generator | None = None
) -> np.ndarray:
    r"""Colours inverted in an opponent colour space, luminance kept (``level`` True).

    Notes
    -----
    In CIELAB (D65), :math:`(L^*, a^*, b^*) \mapsto (L^*, -a^*, -b^*)`: the red–green
    and blue–yellow opponent axes are mirrored. Colours that fall outside the sRGB gamut
    are clipped.
    """
    batch, single = _as_batch(images)
    if not level:
        return _unbatch(batch.copy(), single)
    lab = color.rgb2lab(batch, channel_axis=-1)
    lab[..., 1:] *= -1
    with warnings.catch_warnings():  # out-of-gamut colours are clipped, as documented
        warnings.simplefilter("ignore", UserWarning)
        rgb = color.lab2rgb(lab, channel_axis=-1)
    return _unbatch(np.clip(rgb, 0.0, 1.0), single)


def mean_amplitude_spectrum(images: Iterable[np.ndarray]) -> np.ndarray:
    """Mean amplitude spectrum of the grayscale images (all of one size)."""
    total, count = None, 0
    for image in images:
        batch, _ = _as_batch(image)
        amplitude = np.abs(np.fft.fft2(_gray(batch))).sum(axis=0)
        total = amplitude if total is None else total + amplitude
        count += len(batch)
    if total is None:
        raise StimulusSetError("images: power equalisation needs at least one image.")
    return total / count


def power_equalisation(
    images: np.ndarray,
    level: bool,
    rng: np.random.Generator | None = None,
    *,
    amplitude: np.ndarray | None = None,
) -> np.ndarray:
    r"""Grayscale images given a common amplitude spectrum, phases kept (``level`` True).

    Parameters
    ----------
    amplitude
        The target amplitude spectrum; by default the mean over the batch (see
        :func:`mean_amplitude_spectrum`, which ``psychoalign stimuli make`` computes over
        the whole source set).

    Notes
    -----
    .. math:: \hat x'(f) = \bar A(f)\, e^{i \arg \hat Y(f)}

    Values outside [0, 1] are clipped. With ``level`` False (label ``0``) the grayscale
    image is returned.
    """
    batch, single = _as_batch(images)
    return _unbatch(
        _stack(_power_equalisation_luminance(_gray(batch), level, amplitude=amplitude)), single
    )


def _power_equalisation_luminance(
    gray: np.ndarray, level: bool, rng: Any = None, *, amplitude: np.ndarray | None = None
) -> np.ndarray:
    if not level:
        return gray
    spectrum = np.fft.fft2(gray)
    target = np.abs(spectrum).mean(axis=0) if amplitude is None else amplitude
    if target.shape != gray.shape[1:]:
        raise StimulusSetError(
            f"amplitude: spectrum of shape {target.shape} does not fit images of shape "
            f"{gray.shape[1:]}; power equalisation needs images of one size."
        )
    magnitude = np.abs(spectrum)
    # Where a component is (numerically) absent its phase is noise; phase 0 keeps the
    # spectrum Hermitian, so the inverse transform stays real and keeps the amplitude.
    present = magnitude > 1e-12 * magnitude.max(axis=(1, 2), keepdims=True)
    unit = np.where(present, spectrum / np.where(present, magnitude, 1.0), 1.0)
    return np.fft.ifft2(target * unit).real


# ---------------------------------------------------------------------------------------
# The registry used by stimulus-set building and the command line


@dataclass(frozen=True)
class Manipulation:
    """A named degradation: its function, level labels and how a label becomes a level.

    ``luminance``, where given, is the same degradation of luminance images
    (n, height, width) that returns luminance, unclipped: ``function`` is then
    ``clip(luminance(Y(images)))`` on three equal channels. Making a stimulus set uses it
    through :meth:`prepare` and :meth:`apply`, which compute a source's luminance once for
    all levels and leave out the three channels.
    """

    name: str
    function: Callable[..., np.ndarray]
    default_levels: tuple[str, ...]
    valid: str
    parse: Callable[[str], Any]
    random: bool = False
    needs_one_size: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    luminance: Callable[..., np.ndarray] | None = None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Return what :meth:`apply` takes of one image (height, width, 3).

        That is its luminance (1, height, width) where the degradation has a
        ``luminance`` form, else the image as a batch of one (1, height, width, 3).
        """
        batch, _ = _as_batch(image)
        return batch if self.luminance is None else _gray(batch)

    def apply(
        self,
        prepared: np.ndarray,
        level: Any,
        rng: np.random.Generator | None = None,
        **parameters: Any,
    ) -> np.ndarray:
        """Degrade a :meth:`prepare`-d image at ``level``.

        Returns luminance (height, width), unclipped, or an image (height, width, 3):
        :func:`~psychoalign.stimuli.encode_png` clips either and writes the PNG it
        writes for ``function``'s result. ``prepared`` is left unchanged, but the result
        may be a view of it (a level that changes nothing): do not write into it.
        """
        function = self.function if self.luminance is None else self.luminance
        return function(prepared, level, rng, **parameters)[0]

    def level(self, label: str) -> Any:
        """Return the level a label stands for; a label outside the valid range is refused."""
        try:
            return self.parse(label.strip())
        except (ValueError, TypeError, KeyError):
            raise StimulusSetError(
                f"levels: '{label}' is not a valid level of {self.name} ({self.valid})."
            ) from None


def _number(low: float, high: float, *, inclusive_low: bool = True) -> Callable[[str], float]:
    def parse(label: str) -> float:
        value = float(label)
        too_low = value < low if inclusive_low else value <= low
        if math.isnan(value) or too_low or value > high:
            raise ValueError(label)
        return value

    return parse


def _contrast_level(label: str) -> float:
    """``c50`` (percent, as the model-vs-human labels) or ``0.5``."""
    if label.startswith("c"):
        return _number(0.0, 1.0, inclusive_low=False)(str(float(label[1:]) / 100))
    return _number(0.0, 1.0, inclusive_low=False)(label)


def _choice(**labels: Any) -> Callable[[str], Any]:
    def parse(label: str) -> Any:
        return labels[label.lower()]

    return parse


def _angle(label: str) -> float:
    value = float(label)
    if not math.isfinite(value):
        raise ValueError(label)
    return value


MANIPULATIONS: dict[str, Manipulation] = {
    m.name: m
    for m in (
        Manipulation(
            "grayscale",
            grayscale,
            ("cr", "bw"),
            "'cr' for colour or 'bw' for grayscale",
            _choice(cr=False, bw=True, colour=False, grayscale=True, false=False, true=True),
        ),
        Manipulation(
            "contrast",
            contrast,
            ("c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"),
            "a contrast in (0, 1], or cNN for NN percent",
            _contrast_level,
            luminance=_reduce_contrast,
        ),
        Manipulation(
            "uniform-noise",
            uniform_noise,
            ("0.00", "0.03", "0.05", "0.10", "0.20", "0.35", "0.60", "0.90"),
            "a noise width from 0 to 1",
            _number(0.0, 1.0),
            random=True,
            luminance=_uniform_noise_luminance,
        ),
        Manipulation(
            "salt-and-pepper",
            salt_and_pepper,
            ("0", "0.1", "0.2", "0.35", "0.5", "0.65", "0.8", "0.95"),
            "a fraction of pixels from 0 to 1",
            _number(0.0, 1.0),
            random=True,
            luminance=_salt_and_pepper_luminance,
        ),
        Manipulation(
            "low-pass",
            low_pass,
            ("0", "1", "3", "5", "7", "10", "15", "40"),
            "a Gaussian standard deviation of 0 px or more",
            _number(0.0, math.inf),
            luminance=_low_pass_luminance,
        ),
        Manipulation(
            "high-pass",
            high_pass,
            ("inf", "3", "1.5", "1", "0.7", "0.55", "0.45", "0.4"),
            "a Gaussian standard deviation above 0 px, or inf",
            _number(0.0, math.inf, inclusive_low=False),
            luminance=_high_pass_luminance,
        ),
        Manipulation(
            "phase-scrambling",
            phase_scrambling,
            ("0", "30", "60", "90", "120", "150", "180"),
            "a phase-noise width from 0 to 180 degrees",
            _number(0.0, 180.0),
            random=True,
            luminance=_phase_scrambling_luminance,
        ),
        Manipulation(
            "rotation",
            rotation,
            ("0", "90", "180", "270"),
            "an angle in degrees",
            _angle,
        ),
        Manipulation(
            "false-colour",
            false_colour,
            ("false", "true"),
            "'false' or 'true'",
            _choice(false=False, true=True),
        ),
        Manipulation(
            "power-equalisation",
            power_equalisation,
            ("0", "pow"),
            "'0' for the original or 'pow' for equalised",
            _choice(**{"0": False, "pow": True}),
            needs_one_size=True,
            luminance=_power_equalisation_luminance,
        ),
    )
}


def get_manipulation(name: str) -> Manipulation:
    """Return the manipulation called ``name``; an unknown name is refused."""
    try:
        return MANIPULATIONS[name]
    except KeyError:
        raise StimulusSetError(
            f"manipulation: '{name}' is not known; choose from {', '.join(MANIPULATIONS)}."
        ) from None
