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
from psychoalign.errors import TrialDataError
from psychoalign.metrics._stats import percentile_interval
from psychoalign.trials import level_values

__all__ = ["PSYCHOMETRIC_FUNCTIONS", "psychometric_fit", "threshold_comparison"]

#: Sigmoid families of :func:`psychometric_fit`.
PSYCHOMETRIC_FUNCTIONS = ("logistic", "weibull")


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


def psychometric_fit(
    trials: pd.DataFrame,
    *,
    function: str = "logistic",
    direction: str = "auto",
    chance: float | None = None,
    max_lapse: float | None = None,
    levels: Mapping[str, float] | None = None,
    by: Sequence[str] = ("experiment", "observer"),
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Fit a psychometric function per observer and report its threshold with a CI.

    Parameters
    ----------
    trials
        Trial table; ``condition`` gives the level (see
        :func:`psychoalign.trials.level_values`).
    function
        ``"logistic"`` in the level, or ``"weibull"`` (levels must be >= 0).
    direction
        ``"increasing"`` (accuracy rises with the level, e.g. contrast),
        ``"decreasing"`` (e.g. noise width) or ``"auto"``: the sign of the Spearman
        correlation between level and accuracy over all trials of the experiment.
    chance
        Guess rate :math:`\gamma`; default 1 / (number of categories of the experiment).
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
        Parametric bootstrap resamples for the threshold's percentile interval (default
        1000, the analysis side's one default; 0: no interval).
    confidence
        Coverage of the interval.
    seed
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per fit: ``*by, observer_kind, function, direction, chance, n_trials,
        threshold, ci_low, ci_high, slope, lapse, log_likelihood, converged,
        threshold_in_range`` (whether the threshold lies within the tested levels, so it
        is interpolated, not extrapolated).

    Notes
    -----
    .. math:: \psi(x) = \gamma + (1 - \gamma - \lambda)\,F(x)

    with :math:`F(x) = 1 / (1 + e^{-(x - \alpha)/\beta})` (logistic) or
    :math:`F(x) = 1 - e^{-(x/\alpha)^{1/\beta}}` (Weibull), mirrored as :math:`1 - F` for
    decreasing functions; :math:`1 - \lambda` is the upper asymptote. Fitted by
    maximum likelihood on the binomial counts per level (statsmodels
    ``GenericLikelihoodModel``). The threshold is the level where :math:`F = 1/2`,
    halfway between chance and the observer's own upper asymptote (:math:`\alpha` for
    the logistic); ``slope`` is :math:`\beta` (a spread: smaller is steeper). The
    interval is the percentile interval of thresholds refitted to binomial resamples of
    the fitted function at the observed trial counts (parametric bootstrap, Wichmann &
    Hill 2001).

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> fits = psychometric_fit(load_model_vs_human("uniform-noise"), n_boot=50)
    >>> fits[["observer", "direction"]].values.tolist()[0]
    ['subject-01', 'decreasing']
    >>> bool(fits.threshold.between(0.2, 0.5).all())
    True
    """
    if function not in PSYCHOMETRIC_FUNCTIONS:
        raise TrialDataError(
            f"function: '{function}' is not one of {', '.join(PSYCHOMETRIC_FUNCTIONS)}."
        )
    if direction not in ("auto", "increasing", "decreasing"):
        raise TrialDataError(f"direction: '{direction}' is not auto, increasing or decreasing.")
    by = list(by)
    frame = trials.assign(_level=level_values(trials["condition"].tolist(), levels))
    if not np.isfinite(frame["_level"]).all():
        bad = frame.loc[~np.isfinite(frame["_level"]), "condition"].iloc[0]
        raise TrialDataError(
            f"column 'condition' has '{bad}', which is not a finite level; leave it out."
        )
    whole_number("n_boot", n_boot)
    fraction("confidence", confidence)
    rng = np.random.default_rng(seed)
    rows = []
    for _, data in frame.groupby("experiment", sort=True):
        guess = chance if chance is not None else 1 / data["category"].nunique()
        way = direction
        if way == "auto":
            rho = stats.spearmanr(data["_level"], data["correct"].astype(float)).statistic
            way = "decreasing" if rho < 0 else "increasing"
        form = _Form(
            guess, function, way, max_lapse if max_lapse is not None else (1 - guess) * 0.999
        )
        for key, group in data.groupby(by, sort=True):
            counts = group.groupby("_level")["correct"].agg(["sum", "size"])
            x = counts.index.to_numpy(float)
            k, n = counts["sum"].to_numpy(float), counts["size"].to_numpy(float)
            params, llf, converged = _fit_counts(x, k, n, form)
            fitted = form.probability(params, x)
            boots = [
                form.threshold(_fit_counts(x, rng.binomial(n.astype(int), fitted), n, form)[0])
                for _ in range(n_boot)
            ]
            low, high = (
                percentile_interval(np.asarray(boots), confidence)
                if n_boot > 0
                else (np.nan, np.nan)
            )
            threshold = form.threshold(params)
            rows.append(
                {
                    **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                    "observer_kind": group["observer_kind"].iloc[0],
                    "function": function,
                    "direction": way,
                    "chance": guess,
                    "n_trials": int(n.sum()),
                    "threshold": threshold,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "slope": math.exp(params[1]),
                    "lapse": form.lapse(params),
                    "log_likelihood": llf,
                    "converged": converged,
                    "threshold_in_range": bool(x.min() <= threshold <= x.max()),
                }
            )
    return pd.DataFrame(rows)


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
