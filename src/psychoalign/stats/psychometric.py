"""Psychometric functions per observer and thresholds compared with the humans'."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.base.model import GenericLikelihoodModel

from psychoalign._checks import DEFAULT_N_BOOT, fraction, whole_number
from psychoalign.errors import ParameterError, TrialDataError
from psychoalign.metrics._stats import percentile_interval
from psychoalign.stats._psignifit import psignifit_fit
from psychoalign.trials import level_values

__all__ = [
    "PSYCHOMETRIC_FUNCTIONS",
    "PSYCHOMETRIC_METHODS",
    "psychometric_fit",
    "threshold_comparison",
]

#: Sigmoid families of :func:`psychometric_fit`.
PSYCHOMETRIC_FUNCTIONS = ("logistic", "weibull")
#: Fitting methods of :func:`psychometric_fit`; the first is the default.
PSYCHOMETRIC_METHODS = ("psignifit", "mle")


# ---------------------------------------------------------------------------------------
# Psychometric functions


@dataclass(frozen=True)
class _Form:
    """Everything fixed about a psychometric function while its parameters are fitted."""

    chance: float
    function: str
    direction: str
    max_lapse: float

    def core(self, x: np.ndarray, location: float, spread: float) -> np.ndarray:
        """F(x) in [0, 1], rising with x (``increasing``) or falling (``decreasing``)."""
        if self.function == "logistic":
            rising = special.expit((x - location) / spread)
        else:
            rising = -np.expm1(-np.power(np.clip(x, 0, None) / location, 1 / spread))
        return rising if self.direction == "increasing" else 1 - rising

    def lapse(self, params: np.ndarray) -> float:
        return float(self.max_lapse * special.expit(params[2]))

    def probability(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        location = params[0] if self.function == "logistic" else math.exp(params[0])
        core = self.core(x, location, math.exp(params[1]))
        p = self.chance + (1 - self.chance - self.lapse(params)) * core
        return np.clip(p, 1e-9, 1 - 1e-9)

    def threshold(self, params: np.ndarray) -> float:
        """Level at which F = 1/2: halfway between chance and the upper asymptote."""
        if self.function == "logistic":
            return float(params[0])
        return float(math.exp(params[0]) * math.log(2) ** math.exp(params[1]))

    def level_at(self, params: np.ndarray, criterion: float) -> float:
        """Level at which the fitted proportion correct is ``criterion``; NaN if never."""
        needed = (criterion - self.chance) / (1 - self.chance - self.lapse(params))
        if not 0 < needed < 1:
            return math.nan
        q = needed if self.direction == "increasing" else 1 - needed
        spread = math.exp(params[1])
        if self.function == "logistic":
            return float(params[0] + spread * special.logit(q))
        return float(math.exp(params[0]) * (-math.log1p(-q)) ** spread)


class _Psychometric(GenericLikelihoodModel):
    """Binomial likelihood of correct counts at each level (statsmodels MLE)."""

    def __init__(self, correct, levels, trials, *, form: _Form, **kwargs):
        super().__init__(np.asarray(correct, float), np.asarray(levels, float)[:, None], **kwargs)
        self.trials = np.asarray(trials, float)
        self.form = form

    def nloglikeobs(self, params):
        p = self.form.probability(params, self.exog[:, 0])
        return -stats.binom.logpmf(self.endog, self.trials, p)


def _fit_counts(
    levels: np.ndarray, correct: np.ndarray, trials: np.ndarray, form: _Form
) -> tuple[np.ndarray, float, bool]:
    positive = levels[levels > 0] if form.function == "weibull" else levels
    middle = float(np.median(positive)) if len(positive) else 1.0
    span = float(np.ptp(levels)) or 1.0
    logistic = form.function == "logistic"
    start = np.array(
        [middle if logistic else math.log(middle), math.log(span / 8 if logistic else 0.5), -2.0]
    )
    model = _Psychometric(correct, levels, trials, form=form)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = model.fit(start_params=start, method="nm", maxiter=4000, disp=False)
        result = model.fit(start_params=first.params, method="bfgs", maxiter=500, disp=False)
    converged = bool(result.mle_retvals.get("converged")) or bool(
        first.mle_retvals.get("converged")
    )
    return np.asarray(result.params), float(result.llf), converged


def _mle(
    x: np.ndarray,
    k: np.ndarray,
    n: np.ndarray,
    form: _Form,
    *,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
    criterion: float | None = None,
) -> dict[str, float | bool]:
    """Maximum-likelihood fit with its parametric-bootstrap interval (one observer)."""
    params, llf, converged = _fit_counts(x, k, n, form)
    fitted = form.probability(params, x)
    boots = [
        form.threshold(_fit_counts(x, rng.binomial(n.astype(int), fitted), n, form)[0])
        for _ in range(n_boot)
    ]
    low, high = (
        percentile_interval(np.asarray(boots), confidence) if n_boot > 0 else (np.nan, np.nan)
    )
    return {
        "threshold": form.threshold(params),
        "ci_low": float(low),
        "ci_high": float(high),
        "slope": math.exp(params[1]),
        "lapse": form.lapse(params),
        "eta": np.nan,
        "log_likelihood": llf,
        "converged": converged,
        **({} if criterion is None else {"criterion_level": form.level_at(params, criterion)}),
    }


def _direction(data: pd.DataFrame, direction: str) -> str:
    """``direction``, or for ``auto`` the sign of Spearman's rho between level and correct."""
    if direction != "auto":
        return direction
    if data["_level"].nunique() < 2 or data["correct"].nunique() < 2:
        return "increasing"  # no correlation to take the sign of (Spearman warns)
    rho = stats.spearmanr(data["_level"], data["correct"].astype(float)).statistic
    return "decreasing" if rho < 0 else "increasing"


def _check_options(
    function: str, direction: str, method: str, max_lapse: float | None, n_boot: int
) -> None:
    if method not in PSYCHOMETRIC_METHODS:
        raise ParameterError(f"method: '{method}' is not one of {', '.join(PSYCHOMETRIC_METHODS)}.")
    if function not in PSYCHOMETRIC_FUNCTIONS:
        raise TrialDataError(
            f"function: '{function}' is not one of {', '.join(PSYCHOMETRIC_FUNCTIONS)}."
        )
    if direction not in ("auto", "increasing", "decreasing"):
        raise TrialDataError(f"direction: '{direction}' is not auto, increasing or decreasing.")
    if max_lapse is not None:
        fraction("max_lapse", max_lapse)
    whole_number("n_boot", n_boot)


def psychometric_fit(
    trials: pd.DataFrame,
    *,
    method: str = "psignifit",
    function: str = "logistic",
    direction: str = "auto",
    chance: float | None = None,
    max_lapse: float | None = None,
    levels: Mapping[str, float] | None = None,
    by: Sequence[str] = ("experiment", "observer"),
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int | None = 0,
    criterion: float | None = None,
) -> pd.DataFrame:
    r"""Fit a psychometric function per observer and report its threshold with an interval.

    Parameters
    ----------
    trials
        Trial table; ``condition`` gives the level (see
        :func:`psychoalign.trials.level_values`).
    method
        ``"psignifit"`` (default): Bayesian fit with psignifit 4, the threshold's
        credible interval from the posterior; ``"mle"``: maximum likelihood
        (statsmodels) with a parametric-bootstrap interval.
    function
        ``"logistic"`` in the level, or ``"weibull"`` (levels must be >= 0).
    direction
        ``"increasing"`` (accuracy rises with the level, e.g. contrast),
        ``"decreasing"`` (e.g. noise width) or ``"auto"``: the sign of the Spearman
        correlation between level and accuracy over all trials of the experiment.
    chance
        Guess rate :math:`\gamma`, fixed; default 1 / (number of categories of the
        experiment).
    max_lapse
        Upper bound of the lapse rate :math:`\lambda`. Default: free, up to
        :math:`1 - \gamma`, because a model observer need not approach 100 % even on
        undegraded images (EfficientNet-Lite0 is 36 % correct on line drawings); pass
        e.g. 0.06 for the classic bounded lapse of human psychophysics.
    levels
        Explicit label -> value mapping for the levels.
    by
        Columns that define one fit (an observer within an experiment).
    n_boot
        ``mle`` only: parametric bootstrap resamples for the threshold's percentile
        interval (default 1000, the analysis side's one default; 0: no interval).
        Checked, but not used, by ``psignifit``, whose interval comes from the posterior.
    confidence
        Coverage of the interval (credible interval for ``psignifit``).
    seed
        Seed of the bootstrap (``mle``); ``psignifit`` is deterministic.
    criterion
        A proportion correct (e.g. 0.5): adds ``criterion_level``, the level at which
        the fitted function (with its lapse) passes it, NaN where it never does. Unlike
        ``threshold``, which sits halfway to each observer's own asymptote, it is one
        absolute standard for every observer.

    Returns
    -------
    pandas.DataFrame
        One row per fit: ``*by, observer_kind, method, function, direction, chance,
        n_trials, threshold, ci_low, ci_high, slope, lapse, eta, log_likelihood,
        converged, threshold_in_range`` (whether the threshold lies within the tested
        levels, so it is interpolated, not extrapolated); ``criterion_level`` after
        ``converged`` and ``criterion_in_range`` at the end when ``criterion`` is given
        (psignifit: at the MAP estimate).

    Notes
    -----
    .. math:: \psi(x) = \gamma + (1 - \gamma - \lambda)\,F(x)

    with :math:`F(x) = 1 / (1 + e^{-(x - \alpha)/\beta})` (logistic) or
    :math:`F(x) = 1 - e^{-(x/\alpha)^{1/\beta}}` (Weibull), mirrored as :math:`1 - F` for
    decreasing functions; :math:`1 - \lambda` is the upper asymptote, :math:`\gamma` is
    fixed. The threshold is the level where :math:`F = 1/2`, halfway between chance and
    the observer's own upper asymptote (:math:`\alpha` for the logistic); ``slope`` is
    :math:`\beta` (a spread: smaller is steeper); ``log_likelihood`` is the binomial
    log-likelihood of the counts per level at the fitted parameters, for both methods.

    ``psignifit`` (Schütt et al. 2016) evaluates the posterior of threshold, width,
    :math:`\lambda` and the overdispersion :math:`\eta` (``eta``: the counts are
    beta-binomial, 0 is binomial) on its default grid, with its default priors but one:
    the threshold flat over the tested levels with cosine flanks half a range wide, the
    width flat from twice the smallest level step to the range with flanks to 3 ranges,
    :math:`\eta \sim` Beta(1, 10), and :math:`\lambda` flat on
    :math:`[0, \lambda_{max}]` instead of psignifit's Beta(1, 10), which expects the
    few-percent lapses of human observers (a simulated model at 40 % correct at best got
    a shallow zero-lapse fit with its threshold outside the levels; the flat prior
    gives the maximum-likelihood answer). ``threshold`` is the median of the threshold's
    marginal posterior and ``ci_low, ci_high`` its central ``confidence`` interval
    (psignifit's percentile interval), so the threshold always lies within its interval
    (psignifit's default point estimate, the joint posterior's MAP, fell outside the
    marginal interval of one demo observer's skewed posterior); ``slope``, ``lapse`` and
    ``eta`` are the MAP estimate (psignifit's default); ``converged`` is
    False when the threshold or width marginal keeps more than 0.1 % of its mass at the
    edge of the grid (psignifit's own bound warning). psignifit's threshold at its
    ``thresh_PC = 0.5`` is the level where its unscaled sigmoid is 1/2, which is the
    definition above. psignifit's ``neg_`` sigmoids mirror the whole function
    (:math:`1 - \psi`, putting the guess rate at the top), so a decreasing function is
    fitted as a rising one of :math:`-x`; its Weibull is a Gumbel in :math:`\ln x`, so
    levels are fitted as :math:`\ln x` (rising) or :math:`-\ln x` (falling, a reverse
    Gumbel), a level of 0 placed far beyond the others (where :math:`F` is 0 or 1), and
    the threshold and interval mapped back to :math:`x`. About 1 s per observer
    (8 levels).

    ``mle`` maximises the binomial likelihood of the counts per level (statsmodels
    ``GenericLikelihoodModel``); its interval is the percentile interval of thresholds
    refitted to binomial resamples of the fitted function at the observed trial counts
    (parametric bootstrap, Wichmann & Hill 2001); ``eta`` is NaN (binomial).

    References
    ----------
    .. [1] Schütt, Harmeling, Macke & Wichmann (2016). Painfree and accurate Bayesian
       estimation of psychometric functions for (potentially) overdispersed data.
       Vision Research, 122, 105-123.
    .. [2] Wichmann & Hill (2001). The psychometric function: I. Fitting, sampling, and
       goodness of fit. Perception & Psychophysics, 63(8), 1293-1313.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> fits = psychometric_fit(load_model_vs_human("uniform-noise"))
    >>> fits[["observer", "method", "direction"]].values.tolist()[0]
    ['subject-01', 'psignifit', 'decreasing']
    >>> bool(fits.threshold.between(0.2, 0.5).all())
    True
    """
    _check_options(function, direction, method, max_lapse, n_boot)
    by = list(by)
    frame = trials.assign(_level=level_values(trials["condition"].tolist(), levels))
    if not np.isfinite(frame["_level"]).all():
        bad = frame.loc[~np.isfinite(frame["_level"]), "condition"].iloc[0]
        raise TrialDataError(
            f"column 'condition' has '{bad}', which is not a finite level; leave it out."
        )
    fraction("confidence", confidence)
    if criterion is not None:
        fraction("criterion", criterion)
    rng = np.random.default_rng(seed)
    rows = []
    for experiment, data in frame.groupby("experiment", sort=True):
        guess = chance if chance is not None else 1 / data["category"].nunique()
        if max_lapse is not None and max_lapse >= 1 - guess:
            raise ParameterError(
                f"max_lapse: {max_lapse!r} must be below 1 - chance = {1 - guess:.4g} "
                f"(experiment '{experiment}')."
            )
        form = _Form(
            guess,
            function,
            _direction(data, direction),
            max_lapse if max_lapse is not None else (1 - guess) * 0.999,
        )
        for key, group in data.groupby(by, sort=True):
            key = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
            counts = group.groupby("_level")["correct"].agg(["sum", "size"])
            x = counts.index.to_numpy(float)
            k, n = counts["sum"].to_numpy(float), counts["size"].to_numpy(float)
            if method == "mle":
                fit = _mle(
                    x, k, n, form, n_boot=n_boot, confidence=confidence, rng=rng,
                    criterion=criterion,
                )  # fmt: skip
            else:
                where = ", ".join(f"{column} '{value}'" for column, value in key.items())
                fit = psignifit_fit(
                    x, k, n, function=function, direction=form.direction, chance=guess,
                    max_lapse=form.max_lapse, confidence=confidence, where=where,
                    criterion=criterion,
                )  # fmt: skip
            rows.append(
                {
                    **key,
                    "observer_kind": group["observer_kind"].iloc[0],
                    "method": method,
                    "function": function,
                    "direction": form.direction,
                    "chance": guess,
                    "n_trials": int(n.sum()),
                    **fit,
                    "threshold_in_range": bool(x.min() <= fit["threshold"] <= x.max()),
                    **_criterion_in_range(fit, x),
                }
            )
    return pd.DataFrame(rows)


def _criterion_in_range(fit: Mapping[str, object], x: np.ndarray) -> dict[str, bool]:
    """``criterion_in_range`` of a fit with a ``criterion_level``; nothing without one."""
    if "criterion_level" not in fit:
        return {}
    return {"criterion_in_range": bool(x.min() <= fit["criterion_level"] <= x.max())}


def threshold_comparison(fits: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Each model's threshold against the human observers' thresholds of the same experiment.

    Parameters
    ----------
    fits
        Output of :func:`psychometric_fit`.
    confidence
        Coverage of the interval for the human mean.

    Returns
    -------
    pandas.DataFrame
        One row per model and experiment: ``experiment, observer, threshold, ci_low,
        ci_high, human_mean, human_low, human_high, human_min, human_max, n_humans,
        difference, within_human_range``; ``human_low, human_high`` is the t interval of
        the human mean, ``difference`` = model - human mean.
    """
    fraction("confidence", confidence)
    rows = []
    for experiment, data in fits.groupby("experiment", sort=True):
        humans = data[data["observer_kind"] == "human"]["threshold"].to_numpy()
        n = len(humans)
        mean = humans.mean() if n else np.nan
        half = (
            stats.t.ppf(0.5 + confidence / 2, n - 1) * humans.std(ddof=1) / math.sqrt(n)
            if n > 1
            else np.nan
        )
        for model in data[data["observer_kind"] == "model"].itertuples(index=False):
            rows.append(
                {
                    "experiment": experiment,
                    "observer": model.observer,
                    "threshold": model.threshold,
                    "ci_low": model.ci_low,
                    "ci_high": model.ci_high,
                    "human_mean": mean,
                    "human_low": mean - half,
                    "human_high": mean + half,
                    "human_min": humans.min() if n else np.nan,
                    "human_max": humans.max() if n else np.nan,
                    "n_humans": n,
                    "difference": model.threshold - mean,
                    "within_human_range": bool(
                        n and humans.min() <= model.threshold <= humans.max()
                    ),
                }
            )
    return pd.DataFrame(rows)
