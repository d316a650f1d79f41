r"""Statistics of trial data: psychometric functions and thresholds, binomial mixed models.

Every function takes a trial table and returns a tidy DataFrame. Levels are the numeric
values of the ``condition`` labels (``"0.35"`` -> 0.35, ``"c50"`` -> 50), or an explicit
mapping from label to value.

References
----------
.. [1] Wichmann & Hill (2001). The psychometric function: I. Fitting, sampling, and
   goodness of fit. Perception & Psychophysics, 63(8), 1293-1313.
.. [2] Geirhos, Temme, Rauber, Schütt, Bethge & Wichmann (2018). Generalisation in humans
   and deep neural networks. NeurIPS.
.. [3] Seabold & Perktold (2010). statsmodels: econometric and statistical modeling with
   Python. Proceedings of the 9th Python in Science Conference.
"""

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

__all__ = [
    "MIXED_METHODS",
    "PSYCHOMETRIC_FUNCTIONS",
    "mixed_model",
    "psychometric_fit",
    "threshold_comparison",
]

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


# ---------------------------------------------------------------------------------------
# Mixed models


_MIXED_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "z",
    "p_value",
    "kind",
    "method",
    "note",
]
MIXED_METHODS = ("auto", "mixed", "gee")


def mixed_model(
    trials: pd.DataFrame,
    *,
    method: str = "auto",
    levels: Mapping[str, float] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    r"""Binomial mixed model of correctness on level, observer kind and their interaction.

    Parameters
    ----------
    trials
        Trial table with human and model observers.
    method
        ``"auto"`` (the mixed model; GEE when it does not converge), ``"mixed"`` (the
        mixed model or an error) or ``"gee"``.
    levels
        Explicit label -> value mapping for the levels (see
        :func:`psychoalign.trials.level_values`).
    confidence
        Coverage of the intervals.
    seed
        Seed of the variational fit's random starting values (the same seed gives the
        same estimates).

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term, estimate, std_error, ci_low, ci_high, z, p_value,
        kind, method, note``. ``kind`` is ``fixed`` or ``variance`` (the standard
        deviation of a random intercept); ``method`` says which model produced the row
        and ``note`` why the mixed model was not used, if it was not.

    Notes
    -----
    .. math:: \operatorname{logit} P(\text{correct}) = \beta_0 + \beta_1\,\text{level}
              + \beta_2\,[\text{model}] + \beta_3\,\text{level}\,[\text{model}]
              + u_{\text{observer}} + v_{\text{image}}

    with humans as the reference kind, fitted as statsmodels' ``BinomialBayesMixedGLM``
    (variational Bayes with L-BFGS; estimates are posterior means, intervals are normal
    credible intervals; no p-values). GEE fits the same fixed effects with exchangeable
    correlation within observers (robust standard errors, Wald z and p).
    """
    if method not in MIXED_METHODS:
        raise TrialDataError(f"method: '{method}' is not one of {', '.join(MIXED_METHODS)}.")
    fraction("confidence", confidence)
    whole_number("seed", seed)
    data = pd.DataFrame(
        {
            "correct": trials["correct"].astype(int).to_numpy(),
            "level": level_values(trials["condition"].tolist(), levels),
            "kind": pd.Categorical(trials["observer_kind"], categories=["human", "model"]),
            "observer": trials["observer"].to_numpy(),
            "image": trials["image"].to_numpy(),
        }
    )
    if data["kind"].nunique() < 2:
        raise TrialDataError(
            "column 'observer_kind': the mixed model needs both human and model observers."
        )
    if method == "gee":
        return _gee(data, confidence, note="")
    try:
        return _mixed(data, confidence, seed)
    except _NotConvergedError as failure:
        if method == "mixed":
            raise TrialDataError(f"the mixed model did not converge ({failure}).") from None
        return _gee(data, confidence, note=f"the mixed model did not converge ({failure})")


_FORMULA = "correct ~ level * kind"


class _NotConvergedError(Exception):
    """The variational fit of the mixed model failed."""


def _mixed(data: pd.DataFrame, confidence: float, seed: int) -> pd.DataFrame:
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    z = stats.norm.ppf(0.5 + confidence / 2)
    try:
        model = BinomialBayesMixedGLM.from_formula(
            _FORMULA, {"observer": "0 + C(observer)", "image": "0 + C(image)"}, data
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # L-BFGS keeps no dense inverse Hessian: with one random effect per image the
            # default BFGS spends minutes on matrix products over thousands of parameters.
            result = model.fit_vb(fit_method="L-BFGS-B", rng=np.random.default_rng(seed))
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as error:
        raise _NotConvergedError(str(error)) from None
    if not result.optim_retvals.get("success", False):
        raise _NotConvergedError(str(result.optim_retvals.get("message", "no message")))
    fixed = pd.DataFrame(
        {
            "term": model.exog_names,
            "estimate": result.fe_mean,
            "std_error": result.fe_sd,
            "kind": "fixed",
        }
    )
    fixed["ci_low"] = fixed["estimate"] - z * fixed["std_error"]
    fixed["ci_high"] = fixed["estimate"] + z * fixed["std_error"]
    fixed["z"] = fixed["estimate"] / fixed["std_error"]
    variance = pd.DataFrame(
        {
            "term": [f"sd({name})" for name in model.vcp_names],
            "estimate": np.exp(result.vcp_mean),
            "kind": "variance",
            "ci_low": np.exp(result.vcp_mean - z * result.vcp_sd),
            "ci_high": np.exp(result.vcp_mean + z * result.vcp_sd),
        }
    )
    table = pd.concat([fixed, variance], ignore_index=True)
    table["method"] = (
        "binomial mixed GLM (variational Bayes), random intercepts for observer and image"
    )
    table["note"] = ""
    return table.reindex(columns=_MIXED_COLUMNS)


def _gee(data: pd.DataFrame, confidence: float, *, note: str) -> pd.DataFrame:
    from statsmodels.genmod import families
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.generalized_estimating_equations import GEE

    fitted = GEE.from_formula(
        _FORMULA,
        groups="observer",
        data=data,
        family=families.Binomial(),
        cov_struct=Exchangeable(),
    ).fit()
    interval = fitted.conf_int(alpha=1 - confidence)
    table = pd.DataFrame(
        {
            "term": fitted.params.index,
            "estimate": fitted.params.to_numpy(),
            "std_error": fitted.bse.to_numpy(),
            "ci_low": interval[0].to_numpy(),
            "ci_high": interval[1].to_numpy(),
            "z": fitted.tvalues.to_numpy(),
            "p_value": fitted.pvalues.to_numpy(),
            "kind": "fixed",
            "method": "GEE, binomial, exchangeable correlation within observer",
            "note": note,
        }
    )
    return table[_MIXED_COLUMNS]
