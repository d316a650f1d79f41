"""psignifit 4 fits for :func:`psychoalign.stats.psychometric_fit` (Schütt et al. 2016)."""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import psignifit
from scipy import stats

from psychoalign.errors import TrialDataError

__all__ = ["psignifit_fit"]

#: psignifit's sigmoid in the transformed level (see :func:`_transformed`): its Weibull is
#: a Gumbel in ln x, and a falling Weibull is a reverse Gumbel in -ln x.
_SIGMOIDS = {
    ("logistic", "increasing"): "logistic",
    ("logistic", "decreasing"): "logistic",
    ("weibull", "increasing"): "weibull",
    ("weibull", "decreasing"): "rgumbel",
}
#: Distance, in stimulus ranges, at which a level of 0 is placed on the ln x axis of a
#: Weibull: far enough that F is 0 (or 1) for every sigmoid on psignifit's grid, whose
#: widest spans 3 ranges.
_FAR = 100.0
#: psignifit's own bound check: a marginal with more than this mass on the outermost grid
#: point is not captured by the grid.
_EDGE_MASS = 0.001


def _transformed(x: np.ndarray, function: str, direction: str, where: str) -> np.ndarray:
    """The level on the axis where psignifit's sigmoid rises: x, ln x, -x or -ln x."""
    if function == "weibull":
        if (x < 0).any():
            raise TrialDataError(
                f"{where}: level {x[x < 0][0]:g} is negative; the Weibull function needs "
                "levels >= 0 (use function='logistic')."
            )
        with np.errstate(divide="ignore"):
            x = np.log(x)
    return -x if direction == "decreasing" else x


def _flat(x: np.ndarray, high: float) -> np.ndarray:
    """Uniform prior on [0, high], normalised by psignifit.

    Zero outside, because psignifit's bounds only span its grid: the MAP search after
    the grid goes wherever the prior is positive.
    """
    return ((x >= 0) & (x <= high)).astype(float)


def _original(t: float, function: str, direction: str) -> float:
    """Inverse of :func:`_transformed` for one value."""
    value = -t if direction == "decreasing" else t
    return math.exp(value) if function == "weibull" else value


def _edges_hold(result: psignifit.Result) -> bool:
    """Whether the threshold and width marginals vanish at the edges of psignifit's grid."""
    for name in ("threshold", "width"):
        marginal = np.asarray(result.marginal_posterior_values[name], float)
        if len(marginal) > 1:
            marginal = marginal / marginal.sum()
            if max(marginal[0], marginal[-1]) > _EDGE_MASS:
                return False
    return True


def psignifit_fit(
    x: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    *,
    function: str,
    direction: str,
    chance: float,
    max_lapse: float,
    confidence: float,
    where: str,
    criterion: float | None = None,
) -> dict[str, float | bool]:
    """psignifit 4 fit of the counts ``k`` of ``n`` correct at levels ``x`` (one observer).

    Returns ``threshold, ci_low, ci_high, slope, lapse, eta, log_likelihood, converged``
    on the original level axis (and ``criterion_level``, the level where the MAP
    function passes ``criterion`` correct, when given); ``where`` names the observer in
    error messages.
    """
    t = _transformed(np.asarray(x, float), function, direction, where)
    finite = np.unique(t[np.isfinite(t)])
    if len(finite) < 2:
        raise TrialDataError(
            f"{where}: {len(finite)} usable level(s); a psychometric function needs at "
            "least two different levels."
        )
    low, high = float(finite[0]), float(finite[-1])
    # A level of 0 on the ln x axis of a Weibull, where F is exactly 0 (rising) or 1
    # (falling): placed far beyond the range it keeps that value on every grid point.
    t = np.where(t == -np.inf, low - _FAR * (high - low), t)
    t = np.where(t == np.inf, high + _FAR * (high - low), t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = psignifit.psignifit(
            np.column_stack([t, k, n]),
            sigmoid=_SIGMOIDS[function, direction],
            # nAFC: psignifit's grid for a fixed guess rate; the gamma bound below sets
            # it to `chance`, which need not be 1 / an integer.
            experiment_type="nAFC",
            experiment_choices=2,
            bounds={"gamma": (chance, chance), "lambda": (0.0, max_lapse)},
            # psignifit's Beta(1, 10) lapse prior expects the few-percent lapses of human
            # observers; under it, a model at 40 % correct at best (lapse 0.6) got a
            # shallow zero-lapse fit with its threshold outside the tested levels.
            priors={"lambda": functools.partial(_flat, high=max_lapse)},
            # psignifit's defaults, computed from the finite levels alone.
            stimulus_range=(low, high),
            width_min=float(np.diff(finite).min()),
            confP=(confidence,),
            verbose=False,
        )
    estimate = result.parameter_estimate
    # The marginal posterior's median, from the same cumulated mass as psignifit's
    # percentile interval, so that the threshold always lies within its interval.
    mass = np.asarray(result.marginal_posterior_values["threshold"], dtype=float)
    grid = np.asarray(result.parameter_values["threshold"], dtype=float)
    median = float(np.interp(0.5, np.cumsum(mass / mass.sum()), grid))
    (interval,) = result.confidence_intervals["threshold"].values()
    ends = [_original(v, function, direction) for v in interval]
    p = np.clip(result.proportion_correct(t), 1e-9, 1 - 1e-9)
    return {
        "threshold": _original(median, function, direction),
        "ci_low": min(ends),
        "ci_high": max(ends),
        "slope": float(result.standard_parameter_estimate()[1]),
        "lapse": float(estimate["lambda"]),
        "eta": float(estimate["eta"]),
        "log_likelihood": float(stats.binom.logpmf(k, n, p).sum()),
        "converged": _edges_hold(result),
        **(
            {}
            if criterion is None
            else {"criterion_level": _original(_level_at(result, criterion), function, direction)}
        ),
    }


def _level_at(result: psignifit.Result, criterion: float) -> float:
    """Level (fitted axis) at which the MAP function passes ``criterion``; NaN if never."""
    estimate = result.parameter_estimate
    if not estimate["gamma"] < criterion < 1 - estimate["lambda"]:
        return math.nan
    return float(np.asarray(result.threshold(criterion, return_ci=False)).ravel()[0])
