"""Parameter checks (one place, one phrasing: ``name: value must be ...``) and shared defaults.

Each check returns the value it accepted and raises ``error`` (by default
:class:`~psychoalign.errors.ParameterError`) with one sentence naming the parameter.

Examples
--------
>>> from psychoalign._checks import whole_number
>>> whole_number("n_boot", 200)
200
>>> whole_number("n_boot", 2.5)
Traceback (most recent call last):
...
psychoalign.errors.ParameterError: n_boot: 2.5 must be a whole number of at least 0.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from psychoalign.errors import ParameterError, PsychoalignError

__all__ = [
    "DEFAULT_N_BOOT",
    "fraction",
    "is_whole",
    "number_at_least",
    "positive_number",
    "whole_number",
]


#: Bootstrap resamples of every analysis function that computes an interval by default
#: (metrics, :mod:`psychoalign.stats` and the workflows): 1000 leaves 25 resamples beyond
#: each bound of a 95 % percentile interval, the usual minimum for stable bounds (Efron &
#: Tibshirani 1993, An Introduction to the Bootstrap). Functions where ``n_boot=0`` means
#: "no interval" keep 0 as their default.
DEFAULT_N_BOOT = 1000


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def whole_number(
    name: str, value: Any, minimum: int = 0, *, error: type[PsychoalignError] = ParameterError
) -> int:
    """``value`` as an int if it is a whole number of at least ``minimum``."""
    if not is_whole(value) or value < minimum:
        raise error(f"{name}: {value!r} must be a whole number of at least {minimum}.")
    return int(value)


def positive_number(
    name: str, value: Any, *, error: type[PsychoalignError] = ParameterError
) -> float:
    """``value`` as a float if it is a finite number above 0."""
    if not _is_real(value) or value <= 0:
        raise error(f"{name}: {value!r} must be a positive number.")
    return float(value)


def number_at_least(
    name: str, value: Any, minimum: float, *, error: type[PsychoalignError] = ParameterError
) -> float:
    """``value`` as a float if it is a finite number of at least ``minimum``."""
    if not _is_real(value) or value < minimum:
        raise error(f"{name}: {value!r} must be a number of at least {minimum:g}.")
    return float(value)


def fraction(
    name: str,
    value: Any,
    *,
    closed: bool = False,
    error: type[PsychoalignError] = ParameterError,
) -> float:
    """``value`` as a float if it lies in (0, 1), or in [0, 1] when ``closed``."""
    inside = _is_real(value) and ((0 <= value <= 1) if closed else (0 < value < 1))
    if not inside:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise error(f"{name}: {value!r} must be a number in {interval}.")
    return float(value)
