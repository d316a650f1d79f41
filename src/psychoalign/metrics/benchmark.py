"""The model-vs-human benchmark table (Geirhos et al. 2021)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from psychoalign.metrics.accuracy import accuracy
from psychoalign.metrics.error_consistency import error_consistency
from psychoalign.trials import require_columns

__all__ = ["BENCHMARK_COLUMNS", "MODEL_VS_HUMAN_EXCLUDED_CONDITIONS", "benchmark"]

#: Conditions left out of the model-vs-human benchmark, per dataset: undistorted
#: controls, and levels where humans are below 20 % correct. Other datasets keep all.
MODEL_VS_HUMAN_EXCLUDED_CONDITIONS: dict[str, tuple[str, ...]] = {
    "colour": ("cr",),
    "contrast": ("c100", "c03", "c01"),
    "high-pass": ("inf", "0.55", "0.45", "0.4"),
    "low-pass": ("0", "15", "40"),
    "phase-scrambling": ("0", "150", "180"),
    "power-equalisation": ("0",),
    "false-colour": ("true",),
    "rotation": ("0",),
    "eidolonI": ("1-10-10", "64-10-10", "128-10-10"),
    "eidolonII": ("1-3-10", "32-3-10", "64-3-10", "128-3-10"),
    "eidolonIII": ("1-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10"),
    "uniform-noise": ("0.00", "0.60", "0.90"),
}

BENCHMARK_COLUMNS = [
    "observer",
    "observer_kind",
    "experiment",
    "accuracy",
    "accuracy_difference",
    "observed_consistency",
    "error_consistency",
]
_SCORES = BENCHMARK_COLUMNS[3:]


def benchmark(
    trials: pd.DataFrame,
    *,
    excluded_conditions: Mapping[str, Collection[str]] | None = None,
) -> pd.DataFrame:
    r"""Benchmark scores of every observer against the human observers, per dataset and overall.

    Parameters
    ----------
    trials
        Trial table with human observers (``observer_kind == "human"``) in each
        experiment; experiments play the role of the benchmark's datasets.
    excluded_conditions
        Conditions to leave out, per experiment; None keeps every condition. Pass
        :data:`MODEL_VS_HUMAN_EXCLUDED_CONDITIONS` for the model-vs-human benchmark.

    Returns
    -------
    pandas.DataFrame
        One row per observer and experiment, then one per observer with
        ``experiment == "all"`` (the mean over its experiments):
        ``observer, observer_kind, experiment, accuracy, accuracy_difference,
        observed_consistency, error_consistency``. Human rows compare each human with
        every other human: they are the human ceiling of each score.

    Notes
    -----
    For observer :math:`o` in dataset :math:`d` with kept conditions :math:`C` and
    human partners :math:`H` (every human but :math:`o`):

    - ``accuracy``: proportion correct pooled over the trials of :math:`C` (the
      out-of-distribution accuracy);
    - ``accuracy_difference``: :math:`\frac{1}{|H|}\sum_{h}\frac{1}{|C|}\sum_c
      (a_{oc} - a_{hc})^2`, with :math:`a` the accuracy in condition :math:`c`;
    - ``observed_consistency`` and ``error_consistency``: :math:`c_{obs}` and
      :math:`\kappa` of :func:`~psychoalign.metrics.error_consistency` averaged the same
      way, first over conditions, then over partners.

    Experiments without any human observer are not datasets of the benchmark and are
    left out, so the ``all`` rows average every score over the same datasets. An
    observer with no human partner (a lone human) gets NaN for the three comparison
    scores.

    References
    ----------
    .. [1] Geirhos, Narayanappa, Mitzkus, Thieringer, Bethge, Wichmann & Brendel (2021).
       Partial success in closing the gap between human and machine vision. NeurIPS.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> table = benchmark(load_model_vs_human(["edge", "silhouette"]))
    >>> round(float(table.query("experiment == 'edge'").error_consistency.mean()), 3)
    0.318
    """
    require_columns(trials, ["experiment", "condition", "observer", "observer_kind", "correct"])
    with_humans = trials.groupby("experiment")["observer_kind"].transform(
        lambda k: (k == "human").any()
    )
    kept = trials[with_humans.to_numpy(dtype=bool) & ~_excluded(trials, excluded_conditions or {})]
    pooled = (
        kept.groupby(["observer", "observer_kind", "experiment"], sort=True)["correct"]
        .mean()
        .rename("accuracy")
        .reset_index()
    )
    scores = pooled.merge(_accuracy_difference(kept), how="left").merge(
        _consistency(kept), how="left"
    )
    overall = scores.groupby(["observer", "observer_kind"], sort=True)[_SCORES].mean().reset_index()
    overall["experiment"] = "all"
    return pd.concat([scores, overall], ignore_index=True)[BENCHMARK_COLUMNS]


def _excluded(trials: pd.DataFrame, excluded: Mapping[str, Collection[str]]) -> np.ndarray:
    mask = np.zeros(len(trials), dtype=bool)
    for experiment, conditions in excluded.items():
        mask |= (trials["experiment"] == experiment).to_numpy() & trials["condition"].isin(
            list(conditions)
        ).to_numpy()
    return mask


def _mean_over_partners(per_condition: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean over conditions per (observer, partner), then over partners."""
    keys = ["experiment", "observer", "partner"]
    per_partner = per_condition.groupby(keys, sort=True)[columns].mean().reset_index()
    return per_partner.groupby(["experiment", "observer"], sort=True)[columns].mean().reset_index()


def _accuracy_difference(trials: pd.DataFrame) -> pd.DataFrame:
    per_condition = accuracy(trials)[
        ["experiment", "condition", "observer", "observer_kind", "accuracy"]
    ]
    humans = per_condition[per_condition["observer_kind"] == "human"]
    paired = per_condition.merge(
        humans[["experiment", "condition", "observer", "accuracy"]].rename(
            columns={"observer": "partner", "accuracy": "partner_accuracy"}
        ),
        on=["experiment", "condition"],
    )
    paired = paired[paired["observer"] != paired["partner"]]
    paired = paired.assign(
        accuracy_difference=(paired["accuracy"] - paired["partner_accuracy"]) ** 2
    )
    return _mean_over_partners(paired, ["accuracy_difference"])


def _consistency(trials: pd.DataFrame) -> pd.DataFrame:
    pairs = error_consistency(trials)
    forward = pairs.rename(
        columns={"observer_1": "observer", "observer_2": "partner", "kind_2": "partner_kind"}
    )
    backward = pairs.rename(
        columns={"observer_2": "observer", "observer_1": "partner", "kind_1": "partner_kind"}
    )
    both = pd.concat([forward, backward], ignore_index=True)
    with_humans = both[both["partner_kind"] == "human"].rename(
        columns={"c_obs": "observed_consistency", "kappa": "error_consistency"}
    )
    return _mean_over_partners(with_humans, ["observed_consistency", "error_consistency"])
