"""Binomial mixed models of correct responses: level x observer kind."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from psychoalign._checks import fraction, whole_number
from psychoalign.errors import TrialDataError
from psychoalign.trials import level_values

__all__ = ["MIXED_METHODS", "mixed_model"]


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
