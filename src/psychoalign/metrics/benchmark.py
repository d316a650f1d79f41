"""The model-vs-human benchmark table (Geirhos et al. 2021)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.metrics.accuracy import accuracy
from psychoalign.metrics.error_consistency import error_consistency
from psychoalign.trials import require_columns

__all__ = [
    "BENCHMARK_COLUMNS",
    "MODEL_VS_HUMAN_EXCLUDED_CONDITIONS",
    "benchmark",
    "check_shared_stimuli",
]

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
    "n_datasets",
    "left_out",
]
_SCORES = BENCHMARK_COLUMNS[3:7]


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
        observed_consistency, error_consistency, n_datasets, left_out``. Human rows
        compare each human with every other human: they are the human ceiling of each
        score. ``n_datasets`` counts the datasets a row averages (1 or 0 for a dataset's
        own row) and ``left_out`` names, with the reason, every dataset of the table the
        row does not average (empty when none is left out).

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

    Experiments without any human observer are not datasets of the benchmark. The
    ``all`` row of an observer averages every score over the same datasets: those where
    all four scores are defined. A dataset is left out of it, and named in
    ``left_out``, when the observer has no trials in it (``not run``), no human partner
    in any of its conditions (``no human to compare with``, as for a lone human), or no
    stimulus in common with the humans (``no stimulus shared with the humans``: error
    consistency pairs trials by image within a condition); a dataset's own row then has
    NaN for the undefined scores and ``n_datasets`` 0.

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
    scores["left_out"] = _reasons(scores)
    scores["n_datasets"] = (scores["left_out"] == "").astype("int64")
    return pd.concat([scores, _overall(scores)], ignore_index=True)[BENCHMARK_COLUMNS]


def _reasons(scores: pd.DataFrame) -> pd.Series:
    """Why a dataset's row cannot enter its observer's average ('' when it can)."""
    no_partner = scores["accuracy_difference"].isna()
    no_shared = ~no_partner & scores["error_consistency"].isna()
    reasons = np.where(
        no_partner,
        "no human to compare with",
        np.where(no_shared, "no stimulus shared with the humans", ""),
    )
    return pd.Series(
        [f"{e} ({r})" if r else "" for e, r in zip(scores["experiment"], reasons, strict=True)],
        index=scores.index,
        dtype=object,
    )


def _overall(scores: pd.DataFrame) -> pd.DataFrame:
    """The ``all`` row of each observer: the mean over the datasets where every score is defined."""
    datasets = sorted(scores["experiment"].unique())
    rows = []
    for (observer, kind), own in scores.groupby(["observer", "observer_kind"], sort=True):
        complete = own[own["left_out"] == ""]
        left_out = [*own.loc[own["left_out"] != "", "left_out"]]
        left_out += [f"{d} (not run)" for d in datasets if d not in set(own["experiment"])]
        rows.append(
            {
                "observer": observer,
                "observer_kind": kind,
                "experiment": "all",
                **complete[_SCORES].mean().to_dict(),
                "n_datasets": len(complete),
                "left_out": "; ".join(sorted(left_out)),
            }
        )
    return pd.DataFrame(rows)


def check_shared_stimuli(trials: pd.DataFrame) -> None:
    """Refuse a dataset where a model shares no stimulus with the humans.

    Trials are paired by ``image`` within a condition; a model observer of an experiment
    with humans that has no (condition, image) in common with them could only give NaN
    consistencies, so this is an error naming the experiment, the model and the two
    sets of condition labels (the usual cause: condition labels written differently).

    Raises
    ------
    TrialDataError
        For the first such experiment and model.
    """
    require_columns(trials, ["experiment", "observer", "observer_kind", "condition", "image"])
    for experiment, group in trials.groupby("experiment", sort=True):
        humans = group[group["observer_kind"] == "human"]
        if humans.empty:
            continue
        seen = pd.MultiIndex.from_frame(humans[["condition", "image"]]).unique()
        for model, own in group[group["observer_kind"] == "model"].groupby("observer", sort=True):
            if not pd.MultiIndex.from_frame(own[["condition", "image"]]).isin(seen).any():
                raise TrialDataError(
                    f"experiment '{experiment}': model '{model}' shares no stimulus with the "
                    "human observers (trials pair by image within a condition); the humans' "
                    f"conditions are {_labels(humans)} and the model's {_labels(own)}."
                )


def _labels(trials: pd.DataFrame) -> str:
    return ", ".join(f"'{c}'" for c in sorted(trials["condition"].unique()))


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
