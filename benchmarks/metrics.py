"""Speed of the vectorised metrics against reference-style loops, measured side by side.

Prints one line per comparison, e.g.
``all-pairs kappa, 100 obs x 10000 trials: 0.41 s vs per-pair loop 41.2 s = 100x``.
Both sides run in this process on the same data, and their numbers are asserted equal.
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

from psychoalign.metrics import behavioural_consistency, error_consistency
from psychoalign.metrics._stats import masked_pearson
from psychoalign.metrics.rajalingham import _counts, _signature, _task, _trial_halves


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def _observers(n_observers: int, n_trials: int, seed: int = 0) -> pd.DataFrame:
    """Observers whose errors share image difficulty, one trial per image each."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(size=n_trials)
    skill = rng.normal(1.0, 0.5, size=(n_observers, 1))
    correct = rng.random((n_observers, n_trials)) < 1 / (1 + np.exp(-(skill - difficulty)))
    images = np.array([f"img{i:05d}.png" for i in range(n_trials)])
    observers = np.array([f"obs{i:03d}" for i in range(n_observers)])
    return pd.DataFrame(
        {
            "experiment": "bench",
            "condition": "0",
            "observer": np.repeat(observers, n_trials),
            "observer_kind": "human",
            "image": np.tile(images, n_observers),
            "correct": correct.ravel(),
        }
    )


def per_pair_kappa(trials: pd.DataFrame, *, presplit: bool = False) -> pd.DataFrame:
    """Error consistency pair by pair, as model-vs-human's plotting code and ErrorConsistency do.

    For each pair and condition the two observers' trials are selected from the whole
    table, sorted by image and compared (unordered pairs only, half the reference's work,
    which visits both orders). ``presplit`` selects each observer's trials once up front,
    a friendlier baseline than the reference.
    """
    observers = sorted(trials.observer.unique())
    if presplit:
        by_observer = dict(iter(trials.groupby("observer")))

        def select(name):
            return by_observer[name]
    else:

        def select(name):
            return trials.loc[(trials.condition == "0") & (trials.observer == name)]

    rows = []
    for first, second in itertools.combinations(observers, 2):
        df1 = select(first).sort_values(by="image")
        df2 = select(second).sort_values(by="image")
        assert len(df1) == len(df2)
        observed = (df1.correct.to_numpy() == df2.correct.to_numpy()).sum() / len(df1)
        p1, p2 = df1.correct.mean(), df2.correct.mean()
        expected = p1 * p2 + (1 - p1) * (1 - p2)
        kappa = 1.0 if observed == 1.0 else (observed - expected) / (1.0 - expected)
        rows.append((first, second, kappa))
    return pd.DataFrame(rows, columns=["observer_1", "observer_2", "kappa"])


def bench_kappa(n_observers: int = 100, n_trials: int = 10_000) -> None:
    trials = _observers(n_observers, n_trials)
    vectorised, fast = _timed(error_consistency, trials)
    for label, presplit in (("per-pair loop", False), ("per-pair loop, observers pre-split", True)):
        looped, slow = _timed(per_pair_kappa, trials, presplit=presplit)
        np.testing.assert_allclose(
            vectorised.kappa.to_numpy(), looped.kappa.to_numpy(), rtol=0, atol=1e-12
        )
        assert (vectorised.observer_1.to_numpy() == looped.observer_1.to_numpy()).all()
        assert (vectorised.observer_2.to_numpy() == looped.observer_2.to_numpy()).all()
        print(
            f"all-pairs kappa, {n_observers} obs x {n_trials} trials: {fast:.2f} s vs {label} "
            f"{slow:.1f} s = {slow / fast:.0f}x",
            flush=True,
        )


def _choices(n_subjects: int, n_images: int, n_categories: int, seed: int = 0) -> pd.DataFrame:
    """N-way choices whose confusions differ from image to image."""
    rng = np.random.default_rng(seed)
    categories = np.array([f"c{i:02d}" for i in range(n_categories)])
    truth = np.arange(n_images) % n_categories
    logits = rng.normal(size=(n_images, n_categories)) + 2.5 * np.eye(n_categories)[truth]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cumulative = np.cumsum(probabilities, axis=1)
    draws = (rng.random((n_subjects, n_images, 1)) > cumulative[None]).sum(axis=2)
    draws = np.minimum(draws, n_categories - 1)
    images = np.array([f"img{i:04d}.png" for i in range(n_images)])
    humans = pd.DataFrame(
        {
            "experiment": "bench",
            "condition": "0",
            "observer": np.repeat([f"s{i:02d}" for i in range(n_subjects)], n_images),
            "observer_kind": "human",
            "image": np.tile(images, n_subjects),
            "category": np.tile(categories[truth], n_subjects),
            "response": categories[draws.ravel()],
        }
    )
    model = humans[humans.observer == "s00"].assign(observer="model", observer_kind="model")
    return pd.concat([humans, model], ignore_index=True)


def i2n_loop(half: pd.DataFrame, images: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """I2n entry by entry from crosstabs, in the style of objectome's per-image loops."""
    per_image = pd.crosstab(half.image, half.response).reindex(
        index=images, columns=categories, fill_value=0
    )
    p_image = per_image.div(half.groupby("image").size().reindex(images), axis=0)
    per_category = pd.crosstab(half.category, half.response).reindex(
        index=categories, columns=categories, fill_value=0
    )
    p_category = per_category.div(half.groupby("category").size().reindex(categories), axis=0)
    category_of = half.drop_duplicates("image").set_index("image").category.reindex(images)
    dprime = np.full((len(images), len(categories)), np.nan)
    for i, image in enumerate(images):
        target = category_of[image]
        for j, distractor in enumerate(categories):
            if distractor == target:
                continue
            hit = 1 - p_image.loc[image, distractor]
            false_alarm = p_category.loc[distractor, target]
            with np.errstate(invalid="ignore"):
                dprime[i, j] = np.clip(norm.ppf(hit) - norm.ppf(false_alarm), -5, 5)
    normalised = dprime.copy()
    for target in categories:
        rows = (category_of == target).to_numpy()
        with warnings.catch_warnings():  # the target's own column is all NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            normalised[rows] -= np.nanmean(dprime[rows], axis=0)
    return normalised.ravel()


def bench_i2n(
    n_subjects: int = 50, n_images: int = 1600, n_categories: int = 16, n_splits: int = 100
) -> None:
    trials = _choices(n_subjects, n_images, n_categories)
    table, fast = _timed(behavioural_consistency, trials, "I2n", n_splits=n_splits, seed=0)
    # The loop on the same split halves as the vectorised code, for a few splits.
    looped_splits = 3
    humans = trials[trials.observer_kind == "human"].reset_index(drop=True)
    task = _task(humans)
    halves = _trial_halves(task.item, looped_splits, np.random.default_rng(1))
    vectorised = _signature(_counts(task, None, halves), task, "I2n").reshape(looped_splits, 2, -1)
    start = time.perf_counter()
    for split in range(looped_splits):
        for half in (0, 1):
            looped = i2n_loop(humans[halves[split] == half], task.images, task.categories)
            np.testing.assert_allclose(looped, vectorised[split, half], rtol=0, atol=1e-9)
    per_split_loop = (time.perf_counter() - start) / looped_splits
    reliability = float(np.nanmean(masked_pearson(vectorised[:, 0], vectorised[:, 1])))
    per_split_fast = fast / n_splits
    print(
        f"I2n consistency, {n_subjects} subjects x {n_images} images x {n_categories} categories, "
        f"{n_splits} split halves: {fast:.2f} s ({per_split_fast * 1e3:.1f} ms/split) vs per-image "
        f"loop {per_split_loop:.1f} s/split = {per_split_loop / per_split_fast:.0f}x "
        f"(model consistency {table.consistency.item():.3f}, "
        f"split-half reliability {reliability:.3f})"
    )


if __name__ == "__main__":
    bench_kappa()
    bench_i2n()
