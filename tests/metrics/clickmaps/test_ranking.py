"""The ranking kernel: exact average ranks, so Spearman's rho equals scipy's to 1e-12."""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import pytest
from clickmap_support import SIZE, blob, blurred_clicks, simulate
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, stats

from psychoalign.errors import ClickMapError
from psychoalign.metrics._stats import finite_row_mean
from psychoalign.metrics.clickmaps import alignment, build_maps, spearman_maps
from psychoalign.metrics.clickmaps._ranking import (
    _in_blocks,
    rank_rows,
    ranked_rho,
    spearman_pairs,
    spearman_ranked,
    threads,
)


def _scipy_rho(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([stats.spearmanr(x.ravel(), y.ravel())[0] for x, y in zip(a, b, strict=True)])


def test_ranks_are_doubled_centred_average_ranks_in_pixel_order():
    # Values 3, 0, 0, 5, 0, 3: sorted 0, 0, 0, 3, 3, 5 at positions 0..5, average
    # positions 1 (the zeros), 3.5 (the threes) and 5; doubled and centred (2p + 1 - 6):
    # -3, 2 and 5. In pixel order 2, -3, -3, 5, -3, 2; squares 27 + 8 + 25 = 60.
    ranks, squares = rank_rows(np.array([[3.0, 0, 0, 5, 0, 3]]))
    assert ranks.tolist() == [[2, -3, -3, 5, -3, 2]] and squares.tolist() == [60]
    # 5 distinct float32 values: sorted -1, 0.5, 1, 2, 7 get -4, -2, 0, 2, 4; squares 40.
    ranks, squares = rank_rows(np.array([[0.5, -1.0, 7.0, 2.0, 1.0]], np.float32))
    assert ranks.tolist() == [[-2, -4, 4, 2, 0]] and squares.tolist() == [40]


def test_constant_nan_and_one_pixel_rows_have_no_ranks():
    rows = np.array([[2.0, 2, 2, 2], [1.0, np.nan, 2, 3], [-0.0, 0.0, 0.0, -0.0]])
    assert rank_rows(rows)[1].tolist() == [0, 0, 0]
    assert rank_rows(np.ones((2, 1)))[1].tolist() == [0, 0]
    assert np.isnan(spearman_pairs(np.ones((2, 1)), np.ones((2, 1)))).all()


def test_spearman_equals_a_scipy_loop_with_heavy_ties():
    rng = np.random.default_rng(0)
    human = blurred_clicks(rng, 30)
    smooth = ndimage.gaussian_filter(rng.normal(size=(30, 40, 40)), (0, 3, 3))
    coarse = np.round(smooth * 20) / 20  # ties in both maps
    for model in (smooth, smooth.astype(np.float32), coarse, blurred_clicks(rng, 30)):
        assert (human == 0).mean() > 0.5
        expected = _scipy_rho(human, model)
        np.testing.assert_allclose(spearman_maps(human, model), expected, rtol=0, atol=1e-12)


def test_clickme_maps_against_smooth_float32_maps_equal_scipy():
    # ClickMe maps as build_maps makes them (float64, most pixels exactly 0, ties
    # elsewhere) and model maps as Grad-CAM makes them (coarse fields upsampled, float32).
    rng = np.random.default_rng(3)
    probability = 0.7 * blob(10, 12, 3.0) + 0.3 * blob(22, 20, 4.0)
    human = build_maps(
        simulate(probability, 8, 12, 6, seed=3), blur_diameter=5, reference_size=SIZE
    )
    coarse = rng.random((12, 4, 4)).astype(np.float32)
    model = ndimage.zoom(coarse, (1, SIZE / 4, SIZE / 4), order=1)
    assert (human.maps == 0).mean() > 0.2 and model.dtype == np.float32
    expected = _scipy_rho(human.maps, model)
    np.testing.assert_allclose(spearman_maps(human.maps, model), expected, rtol=0, atol=1e-12)
    per_image = alignment(human, model, n_splits=5)
    np.testing.assert_allclose(per_image.spearman, expected, rtol=0, atol=1e-12)


def test_ranked_rows_give_the_same_rho_as_ranking_both_maps():
    rng = np.random.default_rng(5)
    a, b = blurred_clicks(rng, 8).reshape(8, -1), blurred_clicks(rng, 8).reshape(8, -1)
    ranks, squares = rank_rows(a)
    paired = spearman_pairs(a, b)
    assert spearman_ranked(ranks, squares, b).tolist() == paired.tolist()
    first, second = np.array([0, 1, 2, 7]), np.array([3, 1, 0, 6])
    expected = _scipy_rho(a[first], a[second])
    np.testing.assert_allclose(ranked_rho(ranks, squares, first, second), expected, atol=1e-12)


def test_clumped_distinct_and_tied_maps_in_one_block_match_scipy():
    # Clumped: all but one value within 1e-3 of each other, one far above (keys span
    # many bits but crowd at one end); distinct: smooth maps of few ties; tied: clicks.
    rng = np.random.default_rng(8)
    clumped = np.concatenate([1 + rng.random((4, 4999)) * 1e-3, np.full((4, 1), 1e30)], 1)
    clumped = rng.permuted(clumped, axis=1)
    distinct = ndimage.gaussian_filter(rng.normal(size=(6, 40, 40)), (0, 2, 2)).reshape(6, -1)
    tied = blurred_clicks(rng, 6).reshape(6, -1)
    for a, b in ((clumped, clumped[::-1]), (distinct, tied), (tied, distinct)):
        expected = _scipy_rho(a, b)
        np.testing.assert_allclose(spearman_pairs(a, b), expected, rtol=0, atol=1e-12)
        ranks, squares = rank_rows(a)
        assert spearman_ranked(ranks, squares, b).tolist() == spearman_pairs(a, b).tolist()
        expected_ranks = [2 * stats.rankdata(row) - 1 - row.size for row in a]
        assert np.array_equal(ranks, expected_ranks)


def test_float64_values_that_round_to_the_same_float32_are_ranked_exactly():
    rng = np.random.default_rng(4)
    a = 1 + rng.integers(0, 40, (5, 300)) * 1e-12  # equal as float32, 40 levels as float64
    b = rng.permutation(np.linspace(-1e-300, 1e300, 300))  # beyond float32: -0, inf
    b = np.tile(b, (5, 1))
    expected = _scipy_rho(a, b)
    np.testing.assert_allclose(spearman_maps(a, b), expected, rtol=0, atol=1e-12)
    assert np.isfinite(expected).all()


def test_integer_maps_of_every_width_are_ranked_exactly():
    rng = np.random.default_rng(6)
    small = rng.integers(0, 5, (4, 200))  # int64, heavy ties: exact integer keys
    wide = rng.integers(0, 30, (4, 200)) + np.array([0, 2**40, 2**40 + 1, 2**62])[:, None]
    huge = np.where(rng.random((4, 200)) < 0.5, 2**62, -(2**62)) + rng.integers(0, 9, (4, 200))
    for a, b in ((small, wide), (wide, huge), (small.astype(np.int32), huge)):
        np.testing.assert_allclose(spearman_maps(a, b), _scipy_rho(a, b), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [bool, np.int8, np.uint8, np.int16, np.uint32, np.float16])
def test_other_numeric_types_match_scipy(dtype):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2 if dtype is bool else 50, (3, 120)).astype(dtype)
    b = rng.random((3, 120))
    np.testing.assert_allclose(spearman_maps(a, b), _scipy_rho(a, b), rtol=0, atol=1e-12)


def test_non_contiguous_and_many_maps_match_scipy():
    rng = np.random.default_rng(8)
    a = np.round(rng.random((300, 20, 30)), 1)  # more maps than one block of pairs
    b = rng.random((300, 20, 30)).astype(np.float32)
    expected = _scipy_rho(a[:, :, ::3], b[:, ::-1, ::3])
    np.testing.assert_allclose(
        spearman_maps(a[:, :, ::3], b[:, ::-1, ::3]), expected, rtol=0, atol=1e-12
    )


def test_identical_maps_give_one_and_a_rotation_the_scipy_value():
    rng = np.random.default_rng(1)
    maps = blurred_clicks(rng, 3)
    assert spearman_maps(maps, maps).tolist() == [1.0, 1.0, 1.0]
    rotated = np.rot90(maps, axes=(1, 2))
    expected = _scipy_rho(maps, rotated)
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
    rho = spearman_maps(other, maps)
    assert np.isnan(rho[:2]).all() and rho[2] == 1.0


def test_finite_row_mean_skips_nan_and_gives_nan_for_empty_rows():
    means = finite_row_mean(np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]]))
    assert means[0] == 2.0 and np.isnan(means[1])


def test_ceiling_equals_split_halves_recomputed_with_scipy():
    # The ceiling redone by hand: the same split halves (the permutations of
    # default_rng(seed), image by image), each half's map built by build_maps from that
    # half's clicks, scipy's rho between the halves, then Spearman-Brown.
    probability = 0.8 * blob(16, 16, 4.0) + 0.2 / SIZE**2
    table = simulate(probability, 7, 3, 5, seed=11)
    human = build_maps(table, blur_diameter=5, reference_size=SIZE)
    rng = np.random.default_rng(4)
    expected = []
    for image in human.images:
        mine = table[table.image == image]
        people = np.array(sorted(set(mine.observer)))
        rho = []
        for _ in range(6):
            half = mine.observer.isin(people[rng.permutation(len(people))[: len(people) // 2]])
            maps = [
                build_maps(part, blur_diameter=5, reference_size=SIZE).maps[0]
                for part in (mine[half], mine[~half])
            ]
            rho.append(stats.spearmanr(maps[0].ravel(), maps[1].ravel())[0])
        mean = float(np.mean(rho))
        expected.append(math.sqrt(max(2 * mean / (1 + mean), 0.0)))
    per_image = alignment(human, human.maps, n_splits=6, seed=4)
    np.testing.assert_allclose(per_image.ceiling, expected, rtol=0, atol=1e-12)


ints = st.integers(-30, 30)


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
    assert forward == backward
    assert -1.0 <= forward <= 1.0
    assert forward == pytest.approx(stats.spearmanr(a, b)[0], abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 80).flatmap(
        lambda n: st.tuples(arrays(np.int64, n, elements=ints), arrays(np.int64, n, elements=ints))
    )
)
def test_spearman_is_one_for_identical_maps_and_invariant_to_monotone_transforms(pair):
    a, b = pair
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return
    assert spearman_maps(a[None], a[None])[0] == 1.0
    rho = spearman_maps(a[None], b[None])[0]
    # Strictly increasing maps of small integers, exact in their types: ranks unchanged.
    for transformed in (np.exp(a / 7.0), (a**3 + 5).astype(np.float32), -1.0 / (a + 40.0)):
        assert spearman_maps(transformed[None], b[None])[0] == rho
    assert spearman_maps(-a[None], b[None])[0] == -rho


tied_values = st.sampled_from([0.0, -0.0, 0.5, 1.0, -2.0, 3.25, 1e-30, -1e30])


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda rows: st.integers(2, 50).flatmap(
            lambda n: arrays(np.float64, (rows, n), elements=tied_values)
        )
    ),
    st.sampled_from([np.float64, np.float32, np.int64]),
)
def test_ranks_are_scipy_average_ranks_doubled_and_centred(rows, dtype):
    # Known answer from scipy alone: r = 2 * rankdata(x) - (P + 1) with ties averaged,
    # the sum of squares 0 for a constant row.
    rows = (rows.clip(-8, 8) * 4).astype(dtype) if dtype is np.int64 else rows.astype(dtype)
    ranks, squares = rank_rows(rows)
    for row, rank, square in zip(rows, ranks, squares, strict=True):
        if np.ptp(row) == 0:
            assert square == 0
            continue
        expected = 2 * stats.rankdata(row) - (row.size + 1)
        assert rank.tolist() == expected.astype(int).tolist()
        assert square == int((expected**2).sum())


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 40).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (3, n), elements=tied_values),
            arrays(np.float32, (3, n), elements=st.sampled_from([0.0, 0.25, 1.0, 7.5])),
        )
    )
)
def test_every_entry_point_matches_spearmanr_on_tied_maps(pair):
    a, b = pair
    expected = np.array(
        [
            stats.spearmanr(x, y)[0] if np.ptp(x) and np.ptp(y) else np.nan
            for x, y in zip(a, b, strict=True)
        ]
    )
    ranks, squares = rank_rows(a)
    for rho in (
        spearman_pairs(a, b),
        spearman_pairs(b, a),
        spearman_ranked(ranks, squares, b),
        ranked_rho(*rank_rows(np.vstack([a, b])), np.arange(3), np.arange(3, 6)),
    ):
        np.testing.assert_allclose(rho, expected, rtol=0, atol=1e-12)


def test_pairs_ranked_on_several_threads_equal_one_thread_and_scipy(monkeypatch):
    rng = np.random.default_rng(9)
    human = blurred_clicks(rng, 40).reshape(40, -1)
    model = ndimage.gaussian_filter(rng.normal(size=(40, 40, 40)), (0, 2, 2)).astype(np.float32)
    model = model.reshape(40, -1)
    results = {}
    for setting in ("1", "3"):  # 40 pairs on 3 threads: 3 blocks of at most 14
        monkeypatch.setenv("OMP_NUM_THREADS", setting)
        ranks, squares = rank_rows(human)
        results[setting] = (
            spearman_pairs(human, model),
            spearman_ranked(ranks, squares, model),
            ranked_rho(ranks, squares, np.arange(40), np.arange(40)[::-1]),
            ranks,
        )
    for one, several in zip(results["1"], results["3"], strict=True):
        assert np.array_equal(one, several)
    np.testing.assert_allclose(results["3"][0], _scipy_rho(human, model), rtol=0, atol=1e-12)


def test_blocks_run_on_the_threads_omp_num_threads_asks_for(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's threads per nesting level
    assert threads() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    seen: dict[tuple[int, int], int] = {}
    barrier = threading.Barrier(3, timeout=30)  # passes only if 3 blocks run at once

    def work(start: int, stop: int) -> None:
        seen[start, stop] = threading.get_ident()
        barrier.wait()

    _in_blocks(12, work)  # 12 rows on 3 threads: blocks of 4
    assert sorted(seen) == [(0, 4), (4, 8), (8, 12)] and len(set(seen.values())) == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("setting", ["0", "two", "-1"])
def test_a_bad_omp_num_threads_is_named(monkeypatch, setting):
    monkeypatch.setenv("OMP_NUM_THREADS", setting)
    with pytest.raises(ClickMapError, match=f"OMP_NUM_THREADS='{setting}'.*whole number"):
        spearman_maps(np.ones((8, 4)), np.ones((8, 4)))
