"""Small numerical helpers shared by the metrics (vectorised, NaN-aware)."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

_ROUNDING_FLOOR = 1e-12


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (Wilson 1927)."""
    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    z = special.ndtri(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / trials
        denominator = 1 + z**2 / trials
        centre = (p + z**2 / (2 * trials)) / denominator
        half_width = z / denominator * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2))
    return centre - half_width, centre + half_width


def masked_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis over the positions finite in both (NaN when < 3)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    valid = np.isfinite(a) & np.isfinite(b)
    count = valid.sum(axis=-1)
    a = np.where(valid, a, 0.0)
    b = np.where(valid, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = a.sum(axis=-1, keepdims=True) / count[..., None]
        mean_b = b.sum(axis=-1, keepdims=True) / count[..., None]
        da = np.where(valid, a - mean_a, 0.0)
        db = np.where(valid, b - mean_b, 0.0)
        r = (da * db).sum(axis=-1) / np.sqrt((da**2).sum(axis=-1) * (db**2).sum(axis=-1))
    # Sums of exactly cancelling products leave rounding residue (|r| ~ 1e-33), not signal.
    r = np.where(np.abs(r) < _ROUNDING_FLOOR, 0.0, r)
    return np.where(count >= 3, np.clip(r, -1.0, 1.0), np.nan)


def masked_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rho along the last axis over the positions finite in both (average ranks)."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    valid = np.isfinite(a) & np.isfinite(b)
    ranks_a = stats.rankdata(np.where(valid, a, np.nan), axis=-1, nan_policy="omit")
    ranks_b = stats.rankdata(np.where(valid, b, np.nan), axis=-1, nan_policy="omit")
    return masked_pearson(ranks_a, ranks_b)


def percentile_interval(
    samples: np.ndarray, confidence: float = 0.95, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap samples, ignoring NaN resamples."""
    tail = 100 * (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=axis)
    return low, high


def finite_row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its finite values (NaN where none)."""
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, values, 0.0).sum(axis=1) / finite.sum(axis=1)
