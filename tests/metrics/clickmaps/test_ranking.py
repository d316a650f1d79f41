"""The ranking kernel: exact average ranks, so Spearman's rho equals scipy's to 1e-9."""

from __future__ import annotations

import numpy as np
import pytest
from clickmap_support import blurred_clicks
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, stats

from psychoalign.metrics._stats import finite_row_mean
from psychoalign.metrics.clickmaps import spearman_maps
from psychoalign.metrics.clickmaps._ranking import MapRanker, spearman_rows


def test_ranks_are_doubled_centred_average_ranks_in_sorted_order():
    # Values 3, 0, 0, 5, 0, 3 (6 pixels): sorted 0, 0, 0, 3, 3, 5 at positions 0..5.
    # Average 0-based positions 1, 1, 1, 3.5, 3.5, 5; doubled and centred (2p + 1 - 6):
    # -3, -3, -3, 2, 2, 5; sum of squares 27 + 8 + 25 = 60.
    x = np.array([3.0, 0, 0, 5, 0, 3])
    order, ranks = np.empty(6, np.int64), np.empty(6)
    sorted_order, sum_squares = MapRanker(6).rank(x, order, ranks)
    assert ranks.tolist() == [-3, -3, -3, 2, 2, 5]
    assert x[sorted_order].tolist() == [0, 0, 0, 3, 3, 5]
    assert sum_squares == 60
    assert MapRanker(6).rank(np.full(6, 2.0), order, ranks) is None  # constant
    assert MapRanker(6).rank(np.array([1.0, np.nan, 2, 3, 4, 5]), order, ranks) is None


def test_ranks_without_ties_and_without_a_large_lowest_value():
    # 5 distinct values: ranks 2p + 1 - 5 = -4, -2, 0, 2, 4 in sorted order; squares 40.
    x = np.array([0.5, -1.0, 7.0, 2.0, 1.0], np.float32)
    order, ranks = np.empty(5, np.int64), np.empty(5)
    sorted_order, sum_squares = MapRanker(5).rank(x, order, ranks)
    assert sorted_order.tolist() == [1, 0, 4, 3, 2]
    assert ranks.tolist() == [-4, -2, 0, 2, 4] and sum_squares == 40


def test_rows_are_paired_by_index_and_one_pixel_maps_give_nan():
    a = np.array([[1.0, 2, 3], [3.0, 2, 1]])
    rho = spearman_rows(a, a, np.array([0, 0, 1]), np.array([0, 1, 0]))
    assert rho.tolist() == [1.0, -1.0, -1.0]
    assert np.isnan(spearman_rows(a[:, :1], a[:, :1], np.array([0]), np.array([1]))).all()


def test_finite_row_mean_skips_nan_and_gives_nan_for_empty_rows():
    means = finite_row_mean(np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]]))
    assert means[0] == 2.0 and np.isnan(means[1])


def test_spearman_equals_a_scipy_loop_with_heavy_ties():
    rng = np.random.default_rng(0)
    human = blurred_clicks(rng, 30)
    smooth = ndimage.gaussian_filter(rng.normal(size=(30, 40, 40)), (0, 3, 3))
    coarse = np.round(smooth * 20) / 20  # ties in both maps
    for model in (smooth, smooth.astype(np.float32), coarse, blurred_clicks(rng, 30)):
        expected = [
            stats.spearmanr(h.ravel(), m.ravel())[0] for h, m in zip(human, model, strict=True)
        ]
        assert (human == 0).mean() > 0.5
        np.testing.assert_allclose(spearman_maps(human, model), expected, rtol=0, atol=1e-9)


def test_float64_values_that_round_to_the_same_float32_are_ranked_exactly():
    rng = np.random.default_rng(4)
    a = 1 + rng.integers(0, 40, (5, 300)) * 1e-12  # equal as float32, 40 levels as float64
    b = rng.permutation(np.linspace(-1e-300, 1e300, 300))  # beyond float32: -0, inf
    b = np.tile(b, (5, 1))
    expected = [stats.spearmanr(x, y)[0] for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(spearman_maps(a, b), expected, rtol=0, atol=1e-12)
    assert np.isfinite(expected).all()


def test_identical_maps_give_one_and_a_rotation_the_scipy_value():
    rng = np.random.default_rng(1)
    maps = blurred_clicks(rng, 3)
    assert spearman_maps(maps, maps).tolist() == [1.0, 1.0, 1.0]
    rotated = np.rot90(maps, axes=(1, 2))
    expected = [
        stats.spearmanr(m.ravel(), r.ravel())[0] for m, r in zip(maps, rotated, strict=True)
    ]
    np.testing.assert_allclose(spearman_maps(maps, rotated), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        spearman_maps(maps.reshape(3, -1), rotated.reshape(3, -1)), expected, atol=1e-12
    )


def test_constant_or_nan_maps_give_nan():
    rng = np.random.default_rng(2)
    maps = rng.random((3, 8, 8))
    other = maps.copy()
    other[0] = 0.25
    other[1, 2, 3] = np.nan
    rho = spearman_maps(maps, other)
    assert np.isnan(rho[:2]).all() and rho[2] == 1.0


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.sampled_from([0.0, -0.0, 0.5, 1.0, -2.0, 3.25])),
            arrays(np.float64, n, elements=st.floats(-1e6, 1e6, allow_subnormal=False)),
        )
    )
)
def test_spearman_is_symmetric_bounded_and_matches_scipy(pair):
    a, b = pair
    forward = spearman_maps(a[None], b[None])[0]
    backward = spearman_maps(b[None], a[None])[0]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        assert np.isnan(forward) and np.isnan(backward)
        return
    assert forward == pytest.approx(backward, abs=1e-12)
    assert -1.0 <= forward <= 1.0
    assert forward == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-9)
