from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, stats

from psychoalign.metrics.clickmaps import (
    CLICK_COLUMNS,
    ClickMaps,
    alignment,
    alignment_summary,
    build_maps,
    click_table,
    disc_kernel,
    spearman_maps,
    top_fraction_overlap,
)


def _trials(rows: list[tuple], height: int = 11, width: int = 11) -> pd.DataFrame:
    """Trial table from (observer, image, category, [(row, col), ...]) tuples."""
    records = []
    for observer, image, category, clicks in rows:
        objects = [
            {"row": int(r), "col": int(c), "t": 0.5 * (k + 1), "model_response": "cat"}
            for k, (r, c) in enumerate(clicks)
        ]
        records.append(
            {
                "observer": observer,
                "image": image,
                "stimulus": f"{observer}_{image}",
                "category": category,
                "image_height": height,
                "image_width": width,
                "clicks": json.dumps(objects),
                "response": "cat",
            }
        )
    return pd.DataFrame(records)


def _clicks(rows: list[tuple], height: int = 11, width: int = 11) -> pd.DataFrame:
    return click_table(_trials(rows, height, width))


def _disc_by_hand(diameter: int) -> np.ndarray:
    """Pixels whose centre lies within diameter / 2 of the centre, one by one."""
    radius = diameter // 2
    disc = np.zeros((diameter, diameter))
    for i in range(diameter):
        for j in range(diameter):
            if math.hypot(i - radius, j - radius) <= diameter / 2:
                disc[i, j] = 1.0
    return disc


def _convolve_by_loops(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Zero-padded convolution with explicit loops (the kernels here are symmetric)."""
    height, width = image.shape
    radius = kernel.shape[0] // 2
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            total = 0.0
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    if 0 <= y + dy < height and 0 <= x + dx < width:
                        total += kernel[radius + dy, radius + dx] * image[y + dy, x + dx]
            out[y, x] = total
    return out


# --------------------------------------------------------------------------- clicks


def test_click_table_has_one_row_per_click_in_order():
    trials = _trials([("a", "x.png", "cat", [(1, 2), (3, 4)]), ("b", "y.png", "dog", [(5, 6)])])
    table = click_table(trials)
    assert list(table.columns) == list(CLICK_COLUMNS)
    assert table[["observer", "image", "row", "col", "click"]].values.tolist() == [
        ["a", "x.png", 1, 2, 1],
        ["a", "x.png", 3, 4, 2],
        ["b", "y.png", 5, 6, 1],
    ]
    assert table.t.tolist() == [0.5, 1.0, 0.5]
    assert table.category.tolist() == ["cat", "cat", "dog"]
    assert (table.image_height == 11).all() and (table.image_width == 11).all()


def test_trials_without_clicks_give_no_rows():
    trials = _trials([("a", "x.png", "cat", [(1, 2)]), ("b", "x.png", "cat", [])])
    trials = pd.concat([trials, trials.iloc[[0]].assign(clicks=np.nan)], ignore_index=True)
    assert click_table(trials).observer.tolist() == ["a"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("clicks", '[{"row": 1, "col": 2, "t": 0.5}', r"Row b: column 'clicks' is not valid JSON"),
        ("clicks", '{"row": 1}', r"Row b: column 'clicks' holds a JSON dict, not a list"),
        ("clicks", '[{"row": 1, "t": 0.5}]', r"Row b: column 'clicks' has click 1 = .*'col'"),
        (
            "clicks",
            '[{"row": 1, "col": 2, "t": 0.5}, {"row": 11, "col": 2, "t": 0.9}]',
            r"Row b: column 'clicks' has click 2 at row 11, col 2, outside the 11 x 11 image\.",
        ),
        ("clicks", '[{"row": -1, "col": 2, "t": 0.5}]', r"Row b: .*outside the 11 x 11 image"),
        ("clicks", '[{"row": 1.5, "col": 2, "t": 0.5}]', r"Row b: .* row 1\.5, which is not"),
        ("clicks", '[{"row": 1, "col": 2, "t": "soon"}]', r"Row b: .* t 'soon', which is not a"),
        ("image_height", 0, r"Row b: column 'image_height' has 0, which is not a positive"),
        ("image_width", 10.5, r"Row b: column 'image_width' has 10\.5, which is not"),
    ],
)
def test_bad_clicks_name_the_row_and_the_column(column, value, message):
    trials = _trials([("a", "x.png", "cat", [(1, 2)]), ("b", "x.png", "cat", [(3, 4)])])
    trials.index = ["a", "b"]
    trials[column] = trials[column].astype(object)
    trials.loc["b", column] = value
    with pytest.raises(ValueError, match=message) as error:
        click_table(trials)
    assert str(error.value).endswith(".") and "\n" not in str(error.value)  # one sentence


def test_missing_column_is_named():
    with pytest.raises(ValueError, match=r"no column 'clicks'"):
        click_table(_trials([("a", "x.png", "cat", [(1, 2)])]).drop(columns="clicks"))


# --------------------------------------------------------------------------- kernel


def test_disc_of_diameter_21_has_the_pixels_of_a_digital_disc():
    # Row half-widths by hand, top row to middle row: floor(sqrt(10.5**2 - dy**2)) for
    # dy = 10..0, e.g. dy = 10: sqrt(10.25) -> 3; dy = 4: sqrt(94.25) -> 9.
    half = [3, 5, 6, 7, 8, 9, 9, 10, 10, 10, 10]
    by_hand = 2 * sum(2 * w + 1 for w in half[:10]) + (2 * half[10] + 1)
    assert by_hand == 349
    disc = disc_kernel(21)
    assert disc.shape == (21, 21)
    assert disc.sum() == by_hand == _disc_by_hand(21).sum()
    assert np.array_equal(disc, _disc_by_hand(21).astype(bool))
    assert [int(row.sum()) for row in disc[:11]] == [2 * w + 1 for w in half]


@pytest.mark.parametrize("diameter", [1, 3, 5, 7, 21, 43])
def test_disc_is_symmetric(diameter):
    disc = disc_kernel(diameter)
    assert np.array_equal(disc, disc[::-1]) and np.array_equal(disc, disc[:, ::-1])
    assert np.array_equal(disc, disc.T)
    assert np.array_equal(disc, _disc_by_hand(diameter).astype(bool))


@pytest.mark.parametrize("diameter", [0, 2, 20, -3, 2.5])
def test_disc_needs_a_positive_odd_diameter(diameter):
    with pytest.raises(ValueError, match="positive odd"):
        disc_kernel(diameter)


def _maps(blur_diameter: float, size: int, reference_size: int = 224) -> ClickMaps:
    return ClickMaps(
        images=["x"],
        categories=["cat"],
        participants=["a"],
        clicks=np.array([[0, 0, 0, 0]]),
        image_size=(size, size),
        blur_diameter=blur_diameter,
        reference_size=reference_size,
    )


@pytest.mark.parametrize(
    ("blur_diameter", "size", "expected"),
    [
        (21, 224, 21),
        (21, 448, 43),  # 42 is even: the rule rounds up
        (21, 112, 11),  # 10.5: nearest odd is 11
        (20.9, 224, 21),
        (21.9, 224, 21),
        (22.0, 224, 23),
        (22.5, 224, 23),
        (21, 300, 29),  # 28.125
        (0, 224, 1),
        (1.9, 224, 1),
    ],
)
def test_kernel_diameter_is_the_nearest_odd_integer_even_values_rounding_up(
    blur_diameter, size, expected
):
    assert _maps(blur_diameter, size).kernel_diameter == expected


def test_kernel_diameter_scales_with_the_larger_image_side():
    clicks = _clicks([("a", "x", "cat", [(1, 1)])], height=448, width=300)
    assert build_maps(clicks).kernel_diameter == 43


# --------------------------------------------------------------------------- maps


def test_tiny_maps_equal_a_hand_computation():
    clicks = _clicks(
        [
            ("a", "x", "cat", [(5, 5), (0, 10), (1, 2)]),
            ("b", "x", "cat", [(5, 6), (10, 10)]),
        ]
    )
    human = build_maps(clicks, blur_diameter=5, reference_size=11)
    assert human.kernel_diameter == 5
    points_a = np.zeros((11, 11))
    points_a[[5, 0, 1], [5, 10, 2]] = 1
    points_b = np.zeros((11, 11))
    points_b[[5, 10], [6, 10]] = 1
    kernel = _disc_by_hand(5) / _disc_by_hand(5).sum()
    expected = _convolve_by_loops(_convolve_by_loops((points_a + points_b) / 2, kernel), kernel)
    assert human.maps.shape == (1, 11, 11) and human.maps.dtype == np.float64
    np.testing.assert_allclose(human.maps[0], expected, rtol=1e-12, atol=1e-15)
    assert human.summary().to_dict("records") == [
        {"image": "x", "category": "cat", "n_participants": 2, "n_clicks": 5}
    ]


def test_maps_equal_scipy_ndimage_convolution_with_zero_padding():
    rng = np.random.default_rng(3)
    rows = [
        (f"s{p}", f"img{i}", "cat", [tuple(c) for c in rng.integers(0, 30, (12, 2))])
        for i in range(3)
        for p in range(5)
    ]
    human = build_maps(_clicks(rows, 30, 30), blur_diameter=9, reference_size=30)
    kernel = _disc_by_hand(9) / _disc_by_hand(9).sum()
    for index, image in enumerate(human.images):
        points = np.zeros((5, 30, 30))
        for p, (_, _, _, pixels) in enumerate(r for r in rows if r[1] == image):
            for row, col in pixels:
                points[p, row, col] = 1
        once = ndimage.convolve(points.mean(axis=0), kernel, mode="constant", cval=0.0)
        twice = ndimage.convolve(once, kernel, mode="constant", cval=0.0)
        np.testing.assert_allclose(human.maps[index], twice, rtol=1e-12, atol=1e-16)


def test_a_pixel_clicked_twice_by_one_participant_counts_once():
    twice = build_maps(_clicks([("a", "x", "cat", [(5, 5), (5, 5)]), ("b", "x", "cat", [(2, 2)])]))
    once = build_maps(_clicks([("a", "x", "cat", [(5, 5)]), ("b", "x", "cat", [(2, 2)])]))
    np.testing.assert_array_equal(twice.maps, once.maps)
    assert twice.summary().n_clicks.item() == 3


def test_filters_drop_participants_then_images():
    clicks = _clicks(
        [
            ("a", "x", "cat", [(1, 1), (2, 2)]),
            ("b", "x", "cat", [(3, 3)]),  # too few clicks: dropped from x
            ("c", "x", "cat", [(4, 4), (5, 5), (5, 5)]),
            ("a", "y", "dog", [(1, 1), (2, 2)]),
            ("b", "y", "dog", [(3, 3)]),  # leaves y with one participant: y dropped
        ]
    )
    human = build_maps(clicks, min_participants=2, min_clicks=2)
    assert human.summary().to_dict("records") == [
        {"image": "x", "category": "cat", "n_participants": 2, "n_clicks": 5}
    ]
    assert human.participants == ["a", "c"]
    kept = build_maps(clicks[clicks.observer != "b"], min_participants=2)
    np.testing.assert_array_equal(human.maps, kept.maps[:1])
    everyone = build_maps(clicks)
    assert everyone.summary().n_participants.tolist() == [3, 2]
    with pytest.raises(ValueError, match="No image has at least 4 participant"):
        build_maps(clicks, min_participants=4)


def test_build_maps_takes_a_trial_table_too():
    trials = _trials([("a", "x", "cat", [(1, 1)]), ("b", "x", "cat", [(2, 3)])])
    np.testing.assert_array_equal(build_maps(trials).maps, build_maps(click_table(trials)).maps)


def test_images_of_different_sizes_are_refused():
    clicks = pd.concat(
        [_clicks([("a", "x", "cat", [(1, 1)])]), _clicks([("a", "y", "cat", [(1, 1)])], 12, 12)]
    )
    with pytest.raises(ValueError, match=r"x is 11 x 11, y is 12 x 12"):
        build_maps(clicks)


def test_a_hand_made_click_outside_the_image_names_the_row():
    clicks = _clicks([("a", "x", "cat", [(1, 1), (2, 2)])])
    clicks.loc[1, "col"] = 11
    with pytest.raises(ValueError, match=r"Row 1: columns 'row', 'col' have 2, 11, outside"):
        build_maps(clicks)


def test_save_and_load_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        (f"s{p}", f"img{i}", ["cat", "dog"][i % 2], [tuple(c) for c in rng.integers(0, 20, (6, 2))])
        for i in range(4)
        for p in range(3)
    ]
    human = build_maps(_clicks(rows, 20, 24), blur_diameter=21.5, reference_size=224)
    path = tmp_path / "human.npz"
    human.save(path)
    back = ClickMaps.load(path)
    for name in ("images", "categories", "participants", "image_size", "blur_diameter"):
        assert getattr(back, name) == getattr(human, name)
    assert back.reference_size == human.reference_size
    np.testing.assert_array_equal(back.clicks, human.clicks)
    np.testing.assert_array_equal(back.maps, human.maps)
    pd.testing.assert_frame_equal(back.summary(), human.summary())
    assert [p.name for p in tmp_path.iterdir()] == ["human.npz"]
    human.save(path)  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["human.npz"]


# --------------------------------------------------------------------------- spearman


def _blurred_clicks(rng: np.random.Generator, n: int, size: int = 40) -> np.ndarray:
    """Sparse click counts blurred twice: many exact zeros and many ties."""
    kernel = _disc_by_hand(7)
    maps = np.zeros((n, size, size))
    for index in range(n):
        counts = np.zeros((size, size))
        np.add.at(counts, tuple(rng.integers(5, size - 5, (2, 6))), 1)
        maps[index] = (
            ndimage.convolve(
                ndimage.convolve(counts, kernel, mode="constant"), kernel, mode="constant"
            )
            / 7
        )
    return maps


def test_spearman_equals_a_scipy_loop_with_heavy_ties():
    rng = np.random.default_rng(0)
    human = _blurred_clicks(rng, 30)
    smooth = ndimage.gaussian_filter(rng.normal(size=(30, 40, 40)), (0, 3, 3))
    coarse = np.round(smooth * 20) / 20  # ties in both maps
    for model in (smooth, smooth.astype(np.float32), coarse, _blurred_clicks(rng, 30)):
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
    maps = _blurred_clicks(rng, 3)
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


def test_spearman_wants_equal_shapes():
    with pytest.raises(ValueError, match=r"a and b must have the same shape"):
        spearman_maps(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match=r"a must be numeric maps"):
        spearman_maps(np.zeros(4), np.zeros(4))


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
    with pytest.raises(ValueError, match="fraction"):
        top_fraction_overlap(a, b, 0.0)


# --------------------------------------------------------------------------- alignment

_SIZE = 32
_YY, _XX = np.mgrid[:_SIZE, :_SIZE]


def _blob(row: float, col: float, sigma: float) -> np.ndarray:
    blob = np.exp(-((_YY - row) ** 2 + (_XX - col) ** 2) / (2 * sigma**2))
    return blob / blob.sum()


def _simulate(probability, n_people: int, n_images: int, k: int, seed: int) -> pd.DataFrame:
    """Participants making k clicks each (with replacement) from a known pixel probability."""
    rng = np.random.default_rng(seed)
    probabilities = probability if isinstance(probability, list) else [probability] * n_images
    records = []
    for image, p in enumerate(probabilities):
        for person in range(n_people):
            for click, pixel in enumerate(rng.choice(_SIZE * _SIZE, size=k, p=p.ravel())):
                records.append(
                    (
                        f"s{person}",
                        f"img{image:02d}",
                        "x",
                        pixel // _SIZE,
                        pixel % _SIZE,
                        0.5,
                        click + 1,
                        _SIZE,
                        _SIZE,
                    )
                )
    return pd.DataFrame(records, columns=list(CLICK_COLUMNS))


def test_ceiling_recovers_the_correlation_of_the_noise_free_map_with_the_human_map():
    # Known click probability: two blobs plus uniform noise. The noise-free map is the
    # expected map, K*K*E[point map], with E[point map] = 1 - (1 - p)^k for k clicks.
    p = 0.6 * _blob(12, 19, 5.0) + 0.25 * _blob(24, 8, 3.0) + 0.15 / _SIZE**2
    k = 5
    kernel = _disc_by_hand(5) / _disc_by_hand(5).sum()
    truth = ndimage.convolve(1 - (1 - p) ** k, kernel, mode="constant")
    truth = ndimage.convolve(truth, kernel, mode="constant")
    found = {}
    for n_people in (6, 30):
        human = build_maps(
            _simulate(p, n_people, 30, k, seed=n_people), blur_diameter=5, reference_size=_SIZE
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


def test_floor_is_below_the_ceiling_for_unrelated_images_and_humans_align_perfectly():
    centres = [(6, 6), (6, 25), (25, 6), (25, 25), (16, 16), (10, 20)]
    probabilities = [0.9 * _blob(r, c, 2.5) + 0.1 / _SIZE**2 for r, c in centres]
    human = build_maps(
        _simulate(probabilities, 12, 6, 8, seed=0), blur_diameter=5, reference_size=_SIZE
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
    ]
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
        _clicks([("a", "x", "cat", [(1, 1), (5, 5)])]), blur_diameter=3, reference_size=11
    )
    per_image = alignment(human, human.maps)
    assert np.isnan(per_image.ceiling.item()) and np.isnan(per_image.floor.item())
    assert per_image.spearman.item() == 1.0


def test_model_maps_of_the_wrong_shape_are_refused():
    human = build_maps(_clicks([("a", "x", "cat", [(1, 1)]), ("a", "y", "cat", [(2, 2)])]))
    with pytest.raises(ValueError, match=r"model_maps has shape \(1, 11, 11\), expected"):
        alignment(human, human.maps[:1])


def test_summary_is_the_mean_rho_over_the_mean_ceiling_with_paired_bootstrap():
    per_image = pd.DataFrame(
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
    summary = alignment_summary(per_image, n_boot=500, seed=3)
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
    none = alignment_summary(per_image.drop(columns="model"), n_boot=0)
    assert len(none) == 1 and none.n_images.item() == 8
    assert np.isnan(none.spearman_ci_low.item()) and np.isnan(none.score_ci_high.item())


@pytest.mark.parametrize(
    ("option", "value"),
    [("min_participants", 0), ("min_clicks", 1.5), ("blur_diameter", -1), ("reference_size", 0)],
)
def test_bad_options_are_named(option, value):
    with pytest.raises(ValueError, match=option):
        build_maps(_clicks([("a", "x", "cat", [(1, 1)])]), **{option: value})


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, maps=np.zeros(3))
    with pytest.raises(ValueError, match="not a ClickMaps file"):
        ClickMaps.load(path)
