"""Error consistency: Cohen's kappa on trial-by-trial correctness (Geirhos et al. 2020)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychoalign._checks import fraction, whole_number
from psychoalign.metrics._items import ItemTable, item_tables
from psychoalign.metrics._stats import percentile_interval

__all__ = ["error_consistency", "kappa_from_counts"]

_BOOTSTRAP_CHUNK = 64


def error_consistency(
    trials: pd.DataFrame,
    *,
    by: Sequence[str] = ("experiment", "condition"),
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int | None = None,
) -> pd.DataFrame:
    r"""Error consistency (Cohen's kappa on trial-by-trial correctness) for every observer pair.

    Parameters
    ----------
    trials
        Trial table (see :func:`psychoalign.trials.validate_trials`).
    by
        Columns within which observers are compared. Within a group, two observers are
        paired on ``image``: the k-th presentation of an image to one observer with the
        k-th presentation of the same image to the other, so observers whose stimulus
        files differ only in name (as in model-vs-human, where names embed the subject)
        are compared trial by trial. A pair is computed over the images both saw.
    n_boot
        Bootstrap resamples of the group's images for a percentile interval. The default
        0 means no interval by design: kappa itself needs no resampling, and the
        benchmark computes it for every pair of every condition.
    confidence
        Coverage of the bootstrap interval.
    seed
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair (``observer_1`` before ``observer_2`` by name) and
        group: ``*by, observer_1, observer_2, kind_1, kind_2, n_trials, c_obs, c_exp,
        kappa`` (+ ``ci_low, ci_high`` when ``n_boot > 0``). ``n_trials`` is the number
        of paired trials.

    Notes
    -----
    All pairs of a group come from matrix products of the observers x items
    correctness matrix, with no loop over pairs:

    .. math:: c_{obs} = \frac{1}{n}\sum_i [x_{1i} = x_{2i}], \quad
              c_{exp} = p_1 p_2 + (1 - p_1)(1 - p_2), \quad
              \kappa = \frac{c_{obs} - c_{exp}}{1 - c_{exp}}

    where :math:`p_k` is observer :math:`k`'s accuracy on the paired trials, and
    :math:`\kappa = 1` when :math:`c_{obs} = 1`. ``na`` responses count as errors.

    References
    ----------
    .. [1] Geirhos, Meding & Wichmann (2020). Beyond accuracy: quantifying trial-by-trial
       behaviour of CNNs and humans by measuring error consistency. NeurIPS.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> ec = error_consistency(load_model_vs_human("edge"))
    >>> round(float(ec.kappa.mean()), 3)
    0.318
    """
    whole_number("n_boot", n_boot)
    fraction("confidence", confidence)
    by = list(by)
    rng = np.random.default_rng(seed)
    frames = [_pairs_of(table, by, n_boot, confidence, rng) for table in item_tables(trials, by)]
    columns = [*by, *_PAIR_COLUMNS] + (["ci_low", "ci_high"] if n_boot > 0 else [])
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


_PAIR_COLUMNS = [
    "observer_1",
    "observer_2",
    "kind_1",
    "kind_2",
    "n_trials",
    "c_obs",
    "c_exp",
    "kappa",
]


def kappa_from_counts(
    n_shared: np.ndarray, n_agree: np.ndarray, n_right_1: np.ndarray, n_right_2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """c_obs, c_exp and kappa from counts of shared, agreeing and correct trials.

    Parameters
    ----------
    n_shared
        Number of paired trials.
    n_agree
        Paired trials both observers got right or both got wrong.
    n_right_1, n_right_2
        Paired trials each observer got right.

    Returns
    -------
    tuple of numpy.ndarray
        ``c_obs``, ``c_exp`` and ``kappa`` (1 where ``c_obs == 1``; NaN where no trials).

    Examples
    --------
    >>> c_obs, c_exp, kappa = kappa_from_counts(np.array(4), np.array(3), np.array(3), np.array(2))
    >>> float(c_obs), float(c_exp), float(kappa)
    (0.75, 0.5, 0.5)
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        c_obs = n_agree / n_shared
        p_1 = n_right_1 / n_shared
        p_2 = n_right_2 / n_shared
        c_exp = p_1 * p_2 + (1 - p_1) * (1 - p_2)
        kappa = np.where(n_agree == n_shared, 1.0, (c_obs - c_exp) / (1 - c_exp))
    return np.asarray(c_obs), np.asarray(c_exp), np.where(n_shared > 0, kappa, np.nan)


def _pair_counts(
    correct: np.ndarray, present: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared, agreeing and 'first observer right' counts for all pairs.

    ``weights`` (resamples, items) multiplies each item; the results are
    (resamples, observers, observers).
    """
    right = (correct * present)[None] * weights[:, None, :]
    wrong = ((1 - correct) * present)[None] * weights[:, None, :]
    right_plain = correct * present
    wrong_plain = (1 - correct) * present
    n_shared = (present[None] * weights[:, None, :]) @ present.T
    n_agree = right @ right_plain.T + wrong @ wrong_plain.T
    n_right = right @ present.T
    return n_shared, n_agree, n_right


def _pairs_of(
    table: ItemTable,
    by: list[str],
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    n_observers, n_items = table.correct.shape
    first, second = np.triu_indices(n_observers, k=1)
    ones = np.ones((1, n_items))
    n_shared, n_agree, n_right = (a[0] for a in _pair_counts(table.correct, table.present, ones))
    keep = n_shared[first, second] > 0
    first, second = first[keep], second[keep]
    c_obs, c_exp, kappa = kappa_from_counts(
        n_shared[first, second],
        n_agree[first, second],
        n_right[first, second],
        n_right[second, first],
    )
    frame = pd.DataFrame(
        {
            "observer_1": table.observers[first],
            "observer_2": table.observers[second],
            "kind_1": table.kinds[first],
            "kind_2": table.kinds[second],
            "n_trials": n_shared[first, second].astype(int),
            "c_obs": c_obs,
            "c_exp": c_exp,
            "kappa": kappa,
        }
    )
    if n_boot > 0:
        frame["ci_low"], frame["ci_high"] = _bootstrap(
            table, first, second, n_boot, confidence, rng
        )
    for column, value in zip(by, table.key, strict=True):
        frame.insert(by.index(column), column, value)
    return frame


def _bootstrap(
    table: ItemTable,
    first: np.ndarray,
    second: np.ndarray,
    n_boot: int,
    confidence: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    n_items = table.correct.shape[1]
    samples = np.empty((n_boot, len(first)))
    for start in range(0, n_boot, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, n_boot - start)
        weights = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=size).astype(float)
        n_shared, n_agree, n_right = _pair_counts(table.correct, table.present, weights)
        samples[start : start + size] = kappa_from_counts(
            n_shared[:, first, second],
            n_agree[:, first, second],
            n_right[:, first, second],
            n_right[:, second, first],
        )[2]
    return percentile_interval(samples, confidence)
