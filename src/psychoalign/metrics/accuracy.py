"""Accuracy per observer and condition, with Wilson intervals."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from psychoalign._checks import fraction
from psychoalign.metrics._stats import wilson_interval
from psychoalign.trials import require_columns

__all__ = ["accuracy"]


def accuracy(
    trials: pd.DataFrame,
    *,
    by: Sequence[str] = ("experiment", "condition"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    r"""Proportion correct per observer within each group, with a Wilson interval.

    Parameters
    ----------
    trials
        Trial table (see :func:`psychoalign.trials.validate_trials`).
    by
        Columns to group by besides the observer.
    confidence
        Coverage of the interval.

    Returns
    -------
    pandas.DataFrame
        ``*by, observer, observer_kind, n_trials, n_correct, accuracy, ci_low, ci_high``,
        sorted by group and observer.

    Notes
    -----
    ``accuracy = n_correct / n_trials``; a response of ``na`` (no answer in time) is
    wrong. The interval is Wilson's score interval,

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1 - \hat p)}{n}
              + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}},

    which stays inside [0, 1] and keeps its coverage near 0 and 1 [1]_.

    References
    ----------
    .. [1] Wilson (1927). Probable inference, the law of succession, and statistical
       inference. Journal of the American Statistical Association, 22, 209-212.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> table = accuracy(load_model_vs_human("uniform-noise"))
    >>> table.groupby("condition").accuracy.mean().round(3).tolist()
    [0.797, 0.834, 0.764, 0.77, 0.647, 0.398, 0.148, 0.07]
    """
    fraction("confidence", confidence)
    keys = [*by, "observer", "observer_kind"]
    require_columns(trials, [*keys, "correct"])
    table = (
        trials.groupby(keys, sort=True, observed=True)["correct"]
        .agg(n_trials="size", n_correct="sum")
        .reset_index()
    )
    table["n_correct"] = table["n_correct"].astype(int)
    table["accuracy"] = table["n_correct"] / table["n_trials"]
    table["ci_low"], table["ci_high"] = wilson_interval(
        table["n_correct"].to_numpy(), table["n_trials"].to_numpy(), confidence
    )
    return table
