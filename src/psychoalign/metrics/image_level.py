"""Per-image accuracy correlation with a human ceiling (Eberhardt et al. 2016)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychoalign._checks import DEFAULT_N_BOOT, fraction, whole_number
from psychoalign.errors import TrialDataError
from psychoalign.metrics._stats import masked_spearman, percentile_interval
from psychoalign.trials import require_columns

__all__ = ["image_accuracy_correlation"]

_BOOTSTRAP_CHUNK = 100


def image_accuracy_correlation(
    trials: pd.DataFrame,
    *,
    by: Sequence[str] = ("experiment",),
    reference: str = "human",
    probabilities: pd.DataFrame | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Spearman correlation of per-image human accuracy with each observer's per-image score.

    Parameters
    ----------
    trials
        Trial table.
    by
        Columns to group by. Within a group an item is an ``image`` (and its
        ``condition`` when ``condition`` is not in ``by``).
    reference
        Observer kind that forms the reference group, ``"human"`` or ``"model"``.
    probabilities
        Optional long table ``observer, stimulus, category, probability`` (as model
        observers write it). When given, an observer's score on an item is the mean
        probability it gave to the true category (its decision score), otherwise its
        proportion correct.
    n_boot
        Bootstrap resamples of the reference participants (default 1000, the analysis
        side's one default).
    confidence
        Coverage of the percentile intervals.
    seed
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per compared observer and group: ``*by, observer, observer_kind,
        score, n_images, rho, ci_low, ci_high, ceiling, ceiling_low, ceiling_high``
        (``score`` is ``accuracy`` or ``probability``).

    Notes
    -----
    ``rho`` is Spearman's correlation, over the items both saw, between the
    observer's per-item score and the reference group's per-item proportion correct.
    Bootstrap: each resample draws the reference participants with replacement;
    ``ci_low, ci_high`` are percentiles of ``rho`` against the resampled group. The
    ceiling: in each resample the participants are split into two disjoint random
    halves, each half is resampled with replacement within itself, and the per-item
    accuracies of the two halves are correlated; ``ceiling`` is the mean over
    resamples with its percentile interval. Because each half holds half the
    participants, the ceiling is conservative (lower) for the full group.

    References
    ----------
    .. [1] Eberhardt, Cader & Serre (2016). How deep is the feature analysis underlying
       rapid visual categorization? NeurIPS.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> trials = load_model_vs_human("edge")
    >>> as_model = trials.assign(observer_kind=trials.observer_kind.where(
    ...     trials.observer != "subject-01", "model"))
    >>> table = image_accuracy_correlation(as_model, n_boot=200)
    >>> table[["observer", "n_images"]].values.tolist()
    [['subject-01', 160]]
    """
    by = list(by)
    item_keys = ([] if "condition" in by else ["condition"]) + ["image"]
    require_columns(trials, [*by, *item_keys, "observer", "observer_kind", "correct"])
    if reference not in ("human", "model"):
        raise TrialDataError(f"reference: '{reference}' is neither 'human' nor 'model'.")
    whole_number("n_boot", n_boot)
    fraction("confidence", confidence)
    frame = trials.assign(_score=_scores(trials, probabilities))
    rng = np.random.default_rng(seed)
    rows = []
    for key, group in frame.groupby(by, sort=True) if by else [((), frame)]:
        key = key if isinstance(key, tuple) else (key,)
        is_reference = (group["observer_kind"] == reference).to_numpy()
        if not is_reference.any():
            continue
        item_codes, items = pd.factorize(pd.MultiIndex.from_frame(group[item_keys]), sort=True)
        reference_rows = group[is_reference]
        subject_codes, _ = pd.factorize(reference_rows["observer"], sort=True)
        sums, counts = _per_subject(
            subject_codes, item_codes[is_reference], reference_rows["correct"], len(items)
        )
        human = sums.sum(axis=0) / np.where(counts.sum(axis=0) > 0, counts.sum(axis=0), np.nan)
        resampled, ceilings = _bootstrap(sums, counts, n_boot, rng)
        ceiling_low, ceiling_high = percentile_interval(ceilings, confidence)
        others = group[~is_reference]
        for observer, positions in others.groupby("observer", sort=True).indices.items():
            observer_items = item_codes[~is_reference][positions]
            score = np.bincount(observer_items, others["_score"].to_numpy()[positions], len(items))
            seen = np.bincount(observer_items, minlength=len(items))
            with np.errstate(invalid="ignore", divide="ignore"):
                score = score / seen
            both = np.isfinite(score) & np.isfinite(human)
            low, high = percentile_interval(masked_spearman(resampled, score[None, :]), confidence)
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "observer": observer,
                    "observer_kind": others["observer_kind"].iloc[positions[0]],
                    "score": "accuracy" if probabilities is None else "probability",
                    "n_images": int(both.sum()),
                    "rho": float(masked_spearman(score, human)),
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "ceiling": float(np.nanmean(ceilings))
                    if np.isfinite(ceilings).any()
                    else np.nan,
                    "ceiling_low": float(ceiling_low),
                    "ceiling_high": float(ceiling_high),
                }
            )
    columns = [
        *by,
        "observer",
        "observer_kind",
        "score",
        "n_images",
        "rho",
        "ci_low",
        "ci_high",
        "ceiling",
        "ceiling_low",
        "ceiling_high",
    ]
    return pd.DataFrame(rows, columns=columns)


def _scores(trials: pd.DataFrame, probabilities: pd.DataFrame | None) -> np.ndarray:
    """Per-trial score: correctness, or the probability given to the true category."""
    if probabilities is None:
        return trials["correct"].to_numpy(dtype=float)
    require_columns(
        probabilities, ["observer", "stimulus", "category", "probability"], "probabilities"
    )
    lookup = probabilities.set_index(["observer", "stimulus", "category"])["probability"]
    keys = pd.MultiIndex.from_frame(trials[["observer", "stimulus", "category"]])
    scores = lookup.reindex(keys).to_numpy(dtype=float)
    # Humans have no probabilities: their trials keep their correctness.
    return np.where(np.isnan(scores), trials["correct"].to_numpy(dtype=float), scores)


def _per_subject(
    subjects: np.ndarray, items: np.ndarray, correct: pd.Series, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Correct and total trials per (subject, item)."""
    n_subjects = subjects.max() + 1
    cell = subjects * n_items + items
    sums = np.bincount(cell, correct.to_numpy(dtype=float), n_subjects * n_items)
    counts = np.bincount(cell, minlength=n_subjects * n_items).astype(float)
    return sums.reshape(n_subjects, n_items), counts.reshape(n_subjects, n_items)


def _bootstrap(
    sums: np.ndarray, counts: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-item accuracy of resampled groups (n_boot, items) and split-half ceilings."""
    n_subjects, n_items = sums.shape
    half = n_subjects // 2
    resampled = np.empty((n_boot, n_items))
    ceilings = np.full(n_boot, np.nan)
    for start in range(0, n_boot, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, n_boot - start)
        draws = rng.integers(0, n_subjects, size=(size, n_subjects))
        resampled[start : start + size] = _pooled_accuracy(sums, counts, draws)
        if half >= 1:
            # Disjoint random halves, each resampled within itself, so that no participant
            # lands in both halves and inflates the ceiling.
            order = np.argsort(rng.random((size, n_subjects)), axis=1)
            first = np.take_along_axis(order, rng.integers(0, half, (size, half)), axis=1)
            rest = n_subjects - half
            second = np.take_along_axis(order, half + rng.integers(0, rest, (size, rest)), axis=1)
            ceilings[start : start + size] = masked_spearman(
                _pooled_accuracy(sums, counts, first), _pooled_accuracy(sums, counts, second)
            )
    return resampled, ceilings


def _pooled_accuracy(sums: np.ndarray, counts: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per-item accuracy pooled over the drawn subjects: (resamples, items)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
