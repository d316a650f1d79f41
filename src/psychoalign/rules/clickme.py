"""The rules of the ClickMe game: bubble size, click budget, time limit, points, what is revealed.

After Linsley et al. (2019): the participant clicks the parts of an image that matter for
recognising its category; each click reveals a disc ("bubble") of the image to a model,
which classifies the revealed image after every click. The image ends when the model
recognises the category, when the click budget is spent or at the time limit; the
participant scores ``click_budget - clicks + 1`` points if the model recognised it, else
0. The lab experiment (``experiments/clickme.py``) and the online game
(:mod:`psychoalign.web`) both play by these rules, so lab and web data are comparable;
they are plain numpy (no PsychoPy, no web framework).

References
----------
Linsley, D., Shiebler, D., Eberhardt, S. & Serre, T. (2019). Learning what and where to
attend. ICLR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from psychoalign._checks import fraction, positive_number, whole_number
from psychoalign.errors import ParameterError, PsychoalignError

__all__ = ["LINSLEY_2019", "ClickMeRules", "click_pixel", "reveal"]


@dataclass(frozen=True)
class ClickMeRules:
    """The settings of a ClickMe game (``experiments/clickme.yaml``).

    Attributes
    ----------
    bubble_px
        The bubble's diameter on an image of ``reference_px`` pixels (scaled with the
        image's larger side).
    reference_px
        The image size at which the bubble is ``bubble_px`` wide.
    click_budget
        Clicks per image.
    time_limit_s
        Seconds per image, from its onset.
    hidden_grey
        What the model sees where nothing is revealed, in [0, 1].

    Examples
    --------
    >>> rules = ClickMeRules(bubble_px=21, reference_px=224, click_budget=25,
    ...                      time_limit_s=20.0, hidden_grey=0.5)
    >>> rules.bubble_diameter(448)
    42.0
    >>> rules.points(recognised=True, n_clicks=3), rules.points(recognised=False, n_clicks=3)
    (23, 0)
    >>> rules.clicks_left(3), rules.seconds_left(25.0)
    (22, 0.0)
    """

    bubble_px: float
    reference_px: float
    click_budget: int
    time_limit_s: float
    hidden_grey: float

    #: The error :meth:`from_config` raises for a bad setting.
    error: ClassVar[type[PsychoalignError]] = ParameterError

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClickMeRules:
        """The rules of a paradigm's settings, each checked (``cls.error`` names a bad one).

        ``config`` holds ``bubble_px``, ``reference_px``, ``click_budget``,
        ``hidden_grey`` and ``durations_ms.time_limit`` (as ``experiments/clickme.yaml``);
        ``_sources`` (the files it was read from) prefixes the messages.
        """
        error = cls.error
        where = " + ".join(config.get("_sources", [])) or "clickme"

        def setting(key: str) -> str:
            return f"{where}: setting '{key}'"

        for key in ("bubble_px", "reference_px", "click_budget", "hidden_grey"):
            if key not in config:
                raise error(f"{setting(key)} is missing.")
        positive_number(setting("bubble_px"), config["bubble_px"], error=error)
        positive_number(setting("reference_px"), config["reference_px"], error=error)
        fraction(setting("hidden_grey"), config["hidden_grey"], closed=True, error=error)
        time_limit = config.get("durations_ms", {}).get("time_limit")
        positive_number(setting("durations_ms.time_limit"), time_limit, error=error)
        # The values are kept as given (not converted), so the arithmetic is the same as
        # on the settings themselves.
        return cls(
            bubble_px=config["bubble_px"],
            reference_px=config["reference_px"],
            click_budget=whole_number(
                setting("click_budget"), config["click_budget"], 1, error=error
            ),
            time_limit_s=time_limit / 1000,
            hidden_grey=config["hidden_grey"],
        )

    def bubble_diameter(self, image_size: int) -> float:
        """The bubble's diameter in image pixels on an image whose larger side is ``image_size``.

        Notes
        -----
        ``bubble_px * image_size / reference_px``.
        """
        return self.bubble_px * image_size / self.reference_px

    def clicks_left(self, n_clicks: int) -> int:
        """Clicks left after ``n_clicks``."""
        return self.click_budget - n_clicks

    def seconds_left(self, elapsed_s: float) -> float:
        """Seconds left ``elapsed_s`` after the image's onset (0 when time is up)."""
        return max(0.0, self.time_limit_s - elapsed_s)

    def points(self, *, recognised: bool, n_clicks: int) -> int:
        """Points of an image: ``click_budget - n_clicks + 1`` when recognised, else 0."""
        return self.click_budget - n_clicks + 1 if recognised else 0

    def ended(self, *, recognised: bool, n_clicks: int, elapsed_s: float) -> bool:
        """Whether the image's game is over: recognised, budget spent, or time up."""
        return recognised or n_clicks >= self.click_budget or elapsed_s >= self.time_limit_s

    def as_dict(self) -> dict[str, Any]:
        """The five settings by name (for a client or a file)."""
        return asdict(self)


#: The settings of Linsley et al. (2019), as shipped in ``experiments/clickme.yaml``.
LINSLEY_2019 = ClickMeRules(
    bubble_px=21, reference_px=224, click_budget=25, time_limit_s=20.0, hidden_grey=0.5
)


def click_pixel(x: float, y: float, height: int, width: int) -> tuple[int, int] | None:
    r"""The image pixel (row, col) under image point (x, y), None outside the image.

    Parameters
    ----------
    x, y
        The point in image pixel units from the image's top-left corner: ``x`` to the
        right (columns), ``y`` down (rows).
    height, width
        The image's size in pixels.

    Returns
    -------
    tuple of int or None
        ``(floor(y), floor(x))`` when :math:`0 \le x < width` and :math:`0 \le y <
        height` (both finite numbers), else None.

    Examples
    --------
    >>> click_pixel(10.7, 3.2, 224, 224), click_pixel(224.0, 3.0, 224, 224)
    ((3, 10), None)
    """
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y)):
        return None
    if isinstance(x, bool) or isinstance(y, bool):
        return None
    if 0 <= x < width and 0 <= y < height:
        return math.floor(y), math.floor(x)
    return None


def reveal(
    pixels: np.ndarray, clicks: Sequence[tuple[int, int]], diameter: float, grey: float
) -> np.ndarray:
    r"""The image as the model sees it: discs around the clicks, ``grey`` elsewhere.

    Parameters
    ----------
    pixels
        The image, (height, width, 3) uint8.
    clicks
        (row, col) image pixels clicked so far.
    diameter
        The bubble's diameter in image pixels (:meth:`ClickMeRules.bubble_diameter`).
    grey
        The hidden parts' grey level in [0, 1] (``round(grey * 255)``).

    Returns
    -------
    numpy.ndarray
        Of ``pixels``'s shape and type.

    Notes
    -----
    A pixel (r, c) is revealed when :math:`(r - r_k)^2 + (c - c_k)^2 \le (d / 2)^2` for a
    click :math:`(r_k, c_k)`.

    Examples
    --------
    >>> image = np.full((5, 5, 3), 200, dtype=np.uint8)
    >>> reveal(image, [(2, 2)], diameter=2.0, grey=0.0)[..., 0]
    array([[  0,   0,   0,   0,   0],
           [  0,   0, 200,   0,   0],
           [  0, 200, 200, 200,   0],
           [  0,   0, 200,   0,   0],
           [  0,   0,   0,   0,   0]], dtype=uint8)
    """
    height, width = pixels.shape[:2]
    radius = diameter / 2
    reach = int(np.floor(radius))
    revealed = np.full_like(pixels, round(grey * 255))
    # Each disc only within its bounding box: the web game reveals up to 25 per click.
    for row, col in clicks:
        top, bottom = max(row - reach, 0), min(row + reach + 1, height)
        left, right = max(col - reach, 0), min(col + reach + 1, width)
        rows = np.arange(top, bottom)[:, None] - row
        cols = np.arange(left, right)[None, :] - col
        inside = rows**2 + cols**2 <= radius**2
        revealed[top:bottom, left:right][inside] = pixels[top:bottom, left:right][inside]
    return revealed
