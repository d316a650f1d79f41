"""Speed of the ClickMe alignment (Spearman's rho over pixels) against a per-pair scipy loop.

Prints how the maps look, then the comparison, e.g.
``spearman_maps, 2000 pairs at 224x224: 1.0 s vs per-pair scipy.stats.spearmanr loop
20.0 s (extrapolated from 500 pairs ...) = 20.0x``.
Both sides run in this process on the same maps, and their values are asserted equal
(within 1e-12) on the pairs the loop computes. The loop runs on the first
``n_loop`` pairs only and its time is extrapolated to all pairs (the line says so); a
second line times both on just those pairs, back to back, which is the fairer figure
when the machine is shared and its speed drifts. A third line times the path of
:func:`~psychoalign.metrics.clickmaps.alignment`, where the human maps are ranked once
and each further model's maps are ranked against them; the last line gives the cost per
image of the human ceiling (split halves) at 50 splits, with the share spent on rho.

The maps are realistic: human maps are ClickMe maps built by :func:`build_maps` from
simulated clicks (float64, about half the pixels exactly 0 and many ties elsewhere); model
maps are smooth float32 maps with few ties (about 44,000 distinct values of 50,176),
14 x 14 random fields upsampled bilinearly to 224 x 224 (as Grad-CAM-style saliency is).
Every pair has its own two maps: no map is ranked twice. Both sides get C-contiguous
maps (a model's map stack is). The kernel ranks blocks of pairs on every core (or
``OMP_NUM_THREADS`` threads); each figure is given twice, on those threads and on one
thread (``OMP_NUM_THREADS=1``), against the scipy loop, which runs on one. The first
calls compile the kernels of every timed path (numba, cached on disk); they are made, and
timed, before the comparison.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from psychoalign.metrics.clickmaps import ClickMaps, build_maps, spearman_maps
from psychoalign.metrics.clickmaps._ranking import (
    rank_rows,
    spearman_pairs,
    spearman_ranked,
    threads,
)
from psychoalign.metrics.clickmaps.clicks import CLICK_COLUMNS

SIZE = 224


def human_clickmaps(n_images: int, seed: int = 0) -> ClickMaps:
    """ClickMe maps of simulated participants clicking around one or two objects."""
    rng = np.random.default_rng(seed)
    n_people, n_clicks = 12, 10
    centres = rng.uniform(50, SIZE - 50, size=(n_images, 2, 2))
    second = rng.random(n_images) < 0.5  # half the images have a second object
    which = rng.integers(0, 2, size=(n_images, n_people, n_clicks)) * second[:, None, None]
    centre = centres[np.arange(n_images)[:, None, None], which]  # (images, people, clicks, 2)
    pixels = np.clip(np.rint(centre + rng.normal(0, 22, centre.shape)), 0, SIZE - 1)
    n_rows = n_images * n_people * n_clicks
    table = pd.DataFrame(
        {
            "observer": np.tile(
                np.repeat([f"s{p:02d}" for p in range(n_people)], n_clicks), n_images
            ),
            "image": np.repeat([f"img{i:05d}" for i in range(n_images)], n_people * n_clicks),
            "category": "object",
            "row": pixels[..., 0].ravel().astype(np.int64),
            "col": pixels[..., 1].ravel().astype(np.int64),
            "t": 0.0,
            "click": np.tile(np.arange(1, n_clicks + 1), n_images * n_people),
            "image_height": np.full(n_rows, SIZE),
            "image_width": np.full(n_rows, SIZE),
        }
    )[list(CLICK_COLUMNS)]
    return build_maps(table)


def human_maps(n_images: int, seed: int = 0) -> np.ndarray:
    """The maps of :func:`human_clickmaps`, float64 (images, 224, 224)."""
    return human_clickmaps(n_images, seed).maps


def model_maps(n_images: int, seed: int = 1) -> np.ndarray:
    """Smooth float32 maps: 14 x 14 random fields, bilinearly upsampled to 224 x 224."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n_images, 14, 14)).astype(np.float32)
    position = np.clip((np.arange(SIZE) + 0.5) * 14 / SIZE - 0.5, 0, 13)
    lower = np.minimum(position.astype(int), 12)
    weight = (position - lower).astype(np.float32)
    upsample = np.zeros((SIZE, 14), np.float32)
    upsample[np.arange(SIZE), lower] = 1 - weight
    upsample[np.arange(SIZE), lower + 1] += weight
    # einsum with optimize=True returns the image axis in the middle (not C-contiguous)
    # from a few dozen maps on; a model's map stack is contiguous, so both sides get one.
    return np.ascontiguousarray(
        np.einsum("ij,njk,lk->nil", upsample, coarse, upsample, optimize=True)
    )


def scipy_loop(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho pair by pair with scipy.stats.spearmanr, as one would write it."""
    return np.array([stats.spearmanr(x.ravel(), y.ravel())[0] for x, y in zip(a, b, strict=True)])


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """The kernels rank on one thread inside this block (``OMP_NUM_THREADS=1``)."""
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before


def timed(function: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds one call takes, and its result."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def bench_spearman(n_pairs: int = 2_000, n_loop: int = 500) -> None:
    made, (human, model) = timed(lambda: (human_maps(n_pairs), model_maps(n_pairs)))
    zeros = float((human[:100] == 0).mean())
    distinct = np.mean([np.unique(m).size for m in human[:20]])
    print(
        f"maps made in {made:.1f} s: human float64 ({zeros:.0%} zeros, {distinct:.0f} distinct "
        f"values per map), model float32 ({np.unique(model[0]).size} distinct values per map)",
        flush=True,
    )
    # Compiles the kernels of every timed path (or loads them from the cache) first.
    warm, _ = timed(
        lambda: (
            spearman_maps(human[:8], model[:8]),
            spearman_ranked(*rank_rows(human[:8].reshape(8, -1)), model[:8].reshape(8, -1)),
        )
    )
    print(f"first calls (compile or cache load): {warm:.2f} s", flush=True)
    loop, looped = timed(scipy_loop, human[:n_loop], model[:n_loop])
    print(
        f"per-pair scipy.stats.spearmanr loop (one thread): {n_loop} pairs at {SIZE}x{SIZE} in "
        f"{loop:.2f} s ({loop / n_loop * 1e3:.2f} ms/pair), {loop / n_loop * n_pairs:.1f} s "
        f"extrapolated to {n_pairs} pairs",
        flush=True,
    )
    for label in (f"{threads()} threads (this machine's cores)", "one thread"):
        with one_thread() if label == "one thread" else contextlib.nullcontext():
            whole, fast = timed(spearman_maps, human, model)
            subset_time, subset = timed(spearman_maps, human[:n_loop], model[:n_loop])
            ranked_time, ranked, per_model = bench_ranked(human[:n_loop], model[:n_loop])
        np.testing.assert_array_equal(subset, fast[:n_loop])
        for values in (fast[:n_loop], ranked):
            np.testing.assert_allclose(values, looped, rtol=0, atol=1e-12)
        assert np.isfinite(fast).all()
        extrapolated = loop / n_loop * n_pairs
        print(
            f"on {label}: spearman_maps, {n_pairs} pairs: {whole:.2f} s "
            f"({whole / n_pairs * 1e3:.3f} ms/pair) = {extrapolated / whole:.1f}x the loop; "
            f"the same {n_loop} pairs as the loop {subset_time:.2f} s = "
            f"{loop / subset_time:.1f}x; alignment's path (human maps ranked once in "
            f"{ranked_time:.2f} s, then each model's) {per_model / n_loop * 1e3:.3f} ms/pair "
            f"= {loop / per_model:.1f}x; max |difference| "
            f"{np.abs(fast[:n_loop] - looped).max():.1e}",
            flush=True,
        )


def bench_ranked(human: np.ndarray, model: np.ndarray) -> tuple[float, np.ndarray, float]:
    """alignment's path: human maps ranked once, then each model's maps against them."""
    rows = len(human)
    ranking, (ranks, squares) = timed(rank_rows, human.reshape(rows, -1))
    per_model, ranked = timed(spearman_ranked, ranks, squares, model.reshape(rows, -1))
    return ranking, ranked, per_model


def bench_ceiling(n_images: int = 20, n_splits: int = 50) -> None:
    """Cost per image of the human ceiling: split halves, blurred, correlated."""
    human = human_clickmaps(n_images, seed=2)
    human._ceiling(1, 0)  # warm-up
    total, ceiling = timed(human._ceiling, n_splits, 0)
    assert np.isfinite(ceiling).all()
    first, second = _halves(human, n_splits)
    ranking, rho = timed(spearman_pairs, first, second)
    looped = scipy_loop(first, second)
    np.testing.assert_allclose(rho, looped, rtol=0, atol=1e-12)
    print(
        f"ceiling at {n_splits} splits, {human.n_participants[0]} participants per image: "
        f"{total / n_images * 1e3:.1f} ms per image, of which rho of the {n_splits} pairs "
        f"of half maps {ranking * 1e3:.1f} ms (equal to scipy's), the rest splitting and "
        f"blurring",
        flush=True,
    )


def _halves(human: ClickMaps, n_splits: int) -> tuple[np.ndarray, np.ndarray]:
    """The integer half maps of the first image, made by the code ClickMaps._ceiling runs."""
    return human._half_maps(human._points(0), n_splits, np.random.default_rng(0))


if __name__ == "__main__":
    bench_spearman()
    bench_ceiling()
