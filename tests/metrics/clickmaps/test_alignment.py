"""Alignment: rho, Dice and IoU of model and human maps, the ceiling and floor, summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from clickmap_support import SIZE, blob, clicks, disc_by_hand, simulate
from scipy import ndimage, stats

from psychoalign.errors import ClickMapError
from psychoalign.metrics.clickmaps import (
    alignment,
    alignment_summary,
    build_maps,
    spearman_maps,
    top_fraction_overlap,
)


def test_maps_of_different_shapes_or_not_numeric_are_refused():
    with pytest.raises(ClickMapError) as error:
        spearman_maps(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
    assert str(error.value) == (
        "b: shape (2, 4, 5) must be the shape of a, (2, 4, 4) (one map per map of a)."
    )
    with pytest.raises(ClickMapError) as error:
        spearman_maps(np.zeros(4), np.zeros(4))
    assert str(error.value) == (
        "a: maps of shape (4,) and type float64 must be numeric maps (n, height, width) or "
        "(n, pixels)."
    )
    with pytest.raises(ClickMapError, match=r"^b: maps of shape \(2, 3\) and type <U1 must"):
        top_fraction_overlap(np.zeros((2, 3)), np.full((2, 3), "x"))


# --------------------------------------------------------------------------- dice / iou


def test_dice_and_iou_of_the_top_20_percent_by_hand():
    a = np.array([[9.0, 8, 7, 0, 0, 0, 0, 0, 0, 0], [5.0, 5, 5, 5, 0, 0, 0, 0, 0, 1]])
    b = np.array([[9.0, 0, 7, 8, 0, 0, 0, 0, 0, 0], [0.0, 5, 0, 0, 0, 0, 0, 0, 9, 0]])
    # k = 2. Row 1: {0, 1} vs {0, 3}. Row 2: ties broken by pixel order: {0, 1} vs {8, 1}.
    dice, iou = top_fraction_overlap(a, b, fraction=0.2)
    np.testing.assert_allclose(dice, [0.5, 0.5])
    np.testing.assert_allclose(iou, [1 / 3, 1 / 3])
    dice, iou = top_fraction_overlap(a, a, fraction=0.2)
    assert dice.tolist() == [1.0, 1.0] and iou.tolist() == [1.0, 1.0]


def test_top_count_is_the_ceiling_of_the_fraction():
    a = np.arange(10.0)[None]
    b = a[:, ::-1].copy()
    # 0.25 * 10 = 2.5 -> 3 pixels each: {9, 8, 7} vs {0, 1, 2}: disjoint.
    assert top_fraction_overlap(a, b, 0.25)[0].tolist() == [0.0]
    # 0.7 * 10 is 7.000000000000001 in floating point; still 7 pixels: overlap {3..6}.
    dice, iou = top_fraction_overlap(a, b, 0.7)
    assert dice.tolist() == [4 / 7] and iou.tolist() == [4 / 10]
    assert top_fraction_overlap(a, b, 1)[0].tolist() == [1.0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.0, "fraction: 0.0 must be a positive number."),
        (1.5, "fraction: 1.5 must be a number in [0, 1]."),
        (float("nan"), "fraction: nan must be a positive number."),
        ("0.1", "fraction: '0.1' must be a positive number."),
    ],
)
def test_fraction_must_be_in_zero_to_one(value, message):
    a = np.arange(10.0)[None]
    with pytest.raises(ClickMapError) as error:
        top_fraction_overlap(a, a, value)
    assert str(error.value) == message


# --------------------------------------------------------------------------- alignment


def test_ceiling_recovers_the_correlation_of_the_noise_free_map_with_the_human_map():
    # Known click probability: two blobs plus uniform noise. The noise-free map is the
    # expected map, K*K*E[point map], with E[point map] = 1 - (1 - p)^k for k clicks.
    p = 0.6 * blob(12, 19, 5.0) + 0.25 * blob(24, 8, 3.0) + 0.15 / SIZE**2
    k = 5
    kernel = disc_by_hand(5) / disc_by_hand(5).sum()
    truth = ndimage.convolve(1 - (1 - p) ** k, kernel, mode="constant")
    truth = ndimage.convolve(truth, kernel, mode="constant")
    found = {}
    for n_people in (6, 30):
        human = build_maps(
            simulate(p, n_people, 30, k, seed=n_people), blur_diameter=5, reference_size=SIZE
        )
        per_image = alignment(human, np.repeat(truth[None], 30, axis=0), n_splits=50, seed=1)
        # Monte Carlo: the actual rho between the noise-free map and each human map.
        actual = np.mean([stats.spearmanr(truth.ravel(), m.ravel())[0] for m in human.maps])
        assert per_image.ceiling.mean() == pytest.approx(actual, abs=0.05)
        assert per_image.spearman.mean() == pytest.approx(actual, abs=1e-9)
        assert (per_image.n_participants == n_people).all()
        found[n_people] = (per_image.ceiling.mean(), actual)
    assert found[30][0] > found[6][0] + 0.05 and found[30][1] > found[6][1] + 0.05
    assert found[30][0] > 0.9


@pytest.mark.parametrize(("n_people", "n_splits"), [(4, 6), (9, 3)])
def test_ceiling_equals_half_maps_built_from_each_halfs_clicks(n_people, n_splits):
    # By hand: the same random halves as the ceiling draws (one permutation of the
    # image's participants per split, in image order), each half's map built from its
    # own clicks by build_maps, scipy's rho, Spearman-Brown. Fewer participants than
    # splits (4, 6) and more (9, 3) take the ceiling's two ways of blurring.
    p = 0.7 * blob(10, 12, 4.0) + 0.3 / SIZE**2
    table = simulate(p, n_people, 3, 6, seed=n_people)
    human = build_maps(table, blur_diameter=5, reference_size=SIZE)
    rng = np.random.default_rng(4)
    expected = []
    for image in human.images:
        clicked = table[table.image == image]
        people = np.array(sorted(clicked.observer.unique()))
        rho = []
        for _ in range(n_splits):
            half = people[rng.permutation(len(people))[: len(people) // 2]]
            maps = [
                build_maps(clicked[mine], blur_diameter=5, reference_size=SIZE).maps[0]
                for mine in (clicked.observer.isin(half), ~clicked.observer.isin(half))
            ]
            rho.append(stats.spearmanr(maps[0].ravel(), maps[1].ravel())[0])
        expected.append(np.sqrt(max(2 * np.mean(rho) / (1 + np.mean(rho)), 0)))
    ceiling = alignment(human, human.maps, n_splits=n_splits, seed=4).ceiling
    np.testing.assert_allclose(ceiling, expected, rtol=0, atol=1e-12)


def test_floor_is_below_the_ceiling_for_unrelated_images_and_humans_align_perfectly():
    centres = [(6, 6), (6, 25), (25, 6), (25, 25), (16, 16), (10, 20)]
    probabilities = [0.9 * blob(r, c, 2.5) + 0.1 / SIZE**2 for r, c in centres]
    human = build_maps(
        simulate(probabilities, 12, 6, 8, seed=0), blur_diameter=5, reference_size=SIZE
    )
    per_image = alignment(human, human.maps)
    assert list(per_image.columns) == [
        "image",
        "category",
        "spearman",
        "dice",
        "iou",
        "ceiling",
        "floor",
        "n_participants",
        "ceiling_note",
    ]
    assert (per_image.ceiling_note == "").all()
    assert per_image.image.tolist() == human.images
    assert (per_image.spearman == 1.0).all()
    assert (per_image.dice == 1.0).all() and (per_image.iou == 1.0).all()
    assert (per_image.floor < per_image.ceiling - 0.3).all()
    assert (per_image.ceiling > 0.7).all()
    again = alignment(human, human.maps[::-1])
    assert (again.spearman < again.ceiling).all()
    pd.testing.assert_series_equal(again.floor, per_image.floor)


def test_ceiling_needs_two_participants_and_floor_two_images():
    human = build_maps(
        clicks([("a", "x", "cat", [(1, 1), (5, 5)])]), blur_diameter=3, reference_size=11
    )
    per_image = alignment(human, human.maps)
    assert np.isnan(per_image.ceiling.item()) and np.isnan(per_image.floor.item())
    assert per_image.spearman.item() == 1.0


def test_model_maps_of_the_wrong_shape_are_refused():
    human = build_maps(clicks([("a", "x", "cat", [(1, 1)]), ("a", "y", "cat", [(2, 2)])]))
    with pytest.raises(ClickMapError) as error:
        alignment(human, human.maps[:1])
    assert str(error.value) == (
        "model_maps: shape (1, 11, 11) must be (2, 11, 11), one map per image in human.images "
        "order at the images' size."
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("n_splits", 0, "n_splits: 0 must be a whole number of at least 1."),
        ("n_splits", 2.0, "n_splits: 2.0 must be a whole number of at least 1."),
        ("seed", -1, "seed: -1 must be a whole number of at least 0."),
        ("top_fraction", 2, "fraction: 2 must be a number in [0, 1]."),
    ],
)
def test_bad_alignment_options_are_named(option, value, message):
    human = build_maps(clicks([("a", "x", "cat", [(1, 1)]), ("b", "x", "cat", [(2, 2)])]))
    with pytest.raises(ClickMapError) as error:
        alignment(human, human.maps, **{option: value})
    assert str(error.value) == message


# --------------------------------------------------------------------------- summary

_PER_IMAGE = pd.DataFrame(
    {
        "image": ["a", "b", "c", "d"] * 2,
        "model": ["m1"] * 4 + ["m2"] * 4,
        "spearman": [0.2, 0.4, 0.6, np.nan, 0.1, 0.1, 0.1, 0.1],
        "ceiling": [0.8, 0.9, 1.0, 0.9, 0.8, 0.9, 1.0, 0.9],
        "floor": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
        "dice": [0.5] * 8,
        "iou": [1 / 3] * 8,
    }
)


def test_summary_is_the_mean_rho_over_the_mean_ceiling_with_paired_bootstrap():
    summary = alignment_summary(_PER_IMAGE, n_boot=500, seed=3)
    assert list(summary.columns) == [
        "model",
        "n_images",
        "spearman",
        "spearman_ci_low",
        "spearman_ci_high",
        "ceiling",
        "floor",
        "score",
        "score_ci_low",
        "score_ci_high",
        "dice",
        "iou",
        "ceiling_note",
    ]
    assert summary.model.tolist() == ["m1", "m2"]
    first = summary.iloc[0]
    assert first.n_images == 4
    assert first.spearman == pytest.approx(0.4)
    assert first.ceiling == pytest.approx(0.9)
    assert first.score == pytest.approx(0.4 / 0.9)
    assert first.spearman_ci_low < 0.4 < first.spearman_ci_high
    assert first.score_ci_low < first.score < first.score_ci_high
    assert first.spearman_ci_low >= 0.2 and first.spearman_ci_high <= 0.6
    second = summary.iloc[1]
    assert second.spearman_ci_low == pytest.approx(0.1) == second.spearman_ci_high
    assert (first.dice, first.iou, first.floor) == pytest.approx((0.5, 1 / 3, 0.1))
    none = alignment_summary(_PER_IMAGE.drop(columns="model"), n_boot=0)
    assert len(none) == 1 and none.n_images.item() == 8
    assert np.isnan(none.spearman_ci_low.item()) and np.isnan(none.score_ci_high.item())


def test_summary_confidence_sets_the_coverage_of_the_intervals():
    wide = alignment_summary(_PER_IMAGE, n_boot=500, seed=3, confidence=0.99).iloc[0]
    narrow = alignment_summary(_PER_IMAGE, n_boot=500, seed=3, confidence=0.5).iloc[0]
    assert wide.spearman_ci_low <= narrow.spearman_ci_low < narrow.spearman_ci_high
    assert narrow.spearman_ci_high <= wide.spearman_ci_high
    width = {
        name: row.spearman_ci_high - row.spearman_ci_low
        for name, row in [("wide", wide), ("narrow", narrow)]
    }
    assert width["wide"] > width["narrow"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("n_boot", -1, "n_boot: -1 must be a whole number of at least 0."),
        ("n_boot", 2.5, "n_boot: 2.5 must be a whole number of at least 0."),
        ("seed", -2, "seed: -2 must be a whole number of at least 0."),
        ("confidence", 1.0, "confidence: 1.0 must be a number in (0, 1)."),
        ("confidence", 95, "confidence: 95 must be a number in (0, 1)."),
    ],
)
def test_bad_summary_options_are_named(option, value, message):
    with pytest.raises(ClickMapError) as error:
        alignment_summary(_PER_IMAGE, **{option: value})
    assert str(error.value) == message


def test_a_per_image_table_without_a_column_is_refused():
    with pytest.raises(ClickMapError) as error:
        alignment_summary(_PER_IMAGE.drop(columns="ceiling"))
    assert str(error.value) == "per_image: no column 'ceiling' (make it with alignment)."
