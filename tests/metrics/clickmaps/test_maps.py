"""Maps: the disc kernel, the twice-blurred maps, the filters, saving and loading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from clickmap_support import clicks, convolve_by_loops, disc_by_hand, trials
from scipy import ndimage

from psychoalign.errors import ClickMapError, MissingFileError
from psychoalign.metrics.clickmaps import ClickMaps, build_maps, click_table, disc_kernel

# --------------------------------------------------------------------------- kernel


def test_disc_of_diameter_21_has_the_pixels_of_a_digital_disc():
    # Row half-widths by hand, top row to middle row: floor(sqrt(10.5**2 - dy**2)) for
    # dy = 10..0, e.g. dy = 10: sqrt(10.25) -> 3; dy = 4: sqrt(94.25) -> 9.
    half = [3, 5, 6, 7, 8, 9, 9, 10, 10, 10, 10]
    by_hand = 2 * sum(2 * w + 1 for w in half[:10]) + (2 * half[10] + 1)
    assert by_hand == 349
    disc = disc_kernel(21)
    assert disc.shape == (21, 21)
    assert disc.sum() == by_hand == disc_by_hand(21).sum()
    assert np.array_equal(disc, disc_by_hand(21).astype(bool))
    assert [int(row.sum()) for row in disc[:11]] == [2 * w + 1 for w in half]


@pytest.mark.parametrize("diameter", [1, 3, 5, 7, 21, 43])
def test_disc_is_symmetric(diameter):
    disc = disc_kernel(diameter)
    assert np.array_equal(disc, disc[::-1]) and np.array_equal(disc, disc[:, ::-1])
    assert np.array_equal(disc, disc.T)
    assert np.array_equal(disc, disc_by_hand(diameter).astype(bool))


@pytest.mark.parametrize("diameter", [0, 2, 20, -3, 2.5, True])
def test_disc_needs_a_positive_odd_diameter(diameter):
    with pytest.raises(ClickMapError) as error:
        disc_kernel(diameter)
    kind = "an odd whole number" if diameter in (2, 20) else "a whole number"
    assert str(error.value) == f"diameter: {diameter!r} must be {kind} of at least 1."


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
    table = clicks([("a", "x", "cat", [(1, 1)])], height=448, width=300)
    assert build_maps(table).kernel_diameter == 43


# --------------------------------------------------------------------------- maps


def test_tiny_maps_equal_a_hand_computation():
    table = clicks(
        [
            ("a", "x", "cat", [(5, 5), (0, 10), (1, 2)]),
            ("b", "x", "cat", [(5, 6), (10, 10)]),
        ]
    )
    human = build_maps(table, blur_diameter=5, reference_size=11)
    assert human.kernel_diameter == 5
    points_a = np.zeros((11, 11))
    points_a[[5, 0, 1], [5, 10, 2]] = 1
    points_b = np.zeros((11, 11))
    points_b[[5, 10], [6, 10]] = 1
    kernel = disc_by_hand(5) / disc_by_hand(5).sum()
    expected = convolve_by_loops(convolve_by_loops((points_a + points_b) / 2, kernel), kernel)
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
    human = build_maps(clicks(rows, 30, 30), blur_diameter=9, reference_size=30)
    kernel = disc_by_hand(9) / disc_by_hand(9).sum()
    for index, image in enumerate(human.images):
        points = np.zeros((5, 30, 30))
        for p, (_, _, _, pixels) in enumerate(r for r in rows if r[1] == image):
            for row, col in pixels:
                points[p, row, col] = 1
        once = ndimage.convolve(points.mean(axis=0), kernel, mode="constant", cval=0.0)
        twice = ndimage.convolve(once, kernel, mode="constant", cval=0.0)
        np.testing.assert_allclose(human.maps[index], twice, rtol=1e-12, atol=1e-16)


def test_a_pixel_clicked_twice_by_one_participant_counts_once():
    twice = build_maps(clicks([("a", "x", "cat", [(5, 5), (5, 5)]), ("b", "x", "cat", [(2, 2)])]))
    once = build_maps(clicks([("a", "x", "cat", [(5, 5)]), ("b", "x", "cat", [(2, 2)])]))
    np.testing.assert_array_equal(twice.maps, once.maps)
    assert twice.summary().n_clicks.item() == 3


def test_filters_drop_participants_then_images():
    table = clicks(
        [
            ("a", "x", "cat", [(1, 1), (2, 2)]),
            ("b", "x", "cat", [(3, 3)]),  # too few clicks: dropped from x
            ("c", "x", "cat", [(4, 4), (5, 5), (5, 5)]),
            ("a", "y", "dog", [(1, 1), (2, 2)]),
            ("b", "y", "dog", [(3, 3)]),  # leaves y with one participant: y dropped
        ]
    )
    human = build_maps(table, min_participants=2, min_clicks=2)
    assert human.summary().to_dict("records") == [
        {"image": "x", "category": "cat", "n_participants": 2, "n_clicks": 5}
    ]
    assert human.participants == ["a", "c"]
    kept = build_maps(table[table.observer != "b"], min_participants=2)
    np.testing.assert_array_equal(human.maps, kept.maps[:1])
    everyone = build_maps(table)
    assert everyone.summary().n_participants.tolist() == [3, 2]
    with pytest.raises(ClickMapError) as error:
        build_maps(table, min_participants=4)
    assert str(error.value) == (
        "min_participants: 4 keeps no image, as none has that many participants with at "
        "least 1 click(s) each (min_clicks)."
    )


def test_build_maps_takes_a_trial_table_too():
    table = trials([("a", "x", "cat", [(1, 1)]), ("b", "x", "cat", [(2, 3)])])
    np.testing.assert_array_equal(build_maps(table).maps, build_maps(click_table(table)).maps)


def test_images_of_different_sizes_are_refused():
    table = pd.concat(
        [clicks([("a", "x", "cat", [(1, 1)])]), clicks([("a", "y", "cat", [(1, 1)])], 12, 12)]
    )
    with pytest.raises(ClickMapError, match=r"^clicks: .*\(x is 11 x 11, y is 12 x 12\); build"):
        build_maps(table)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("min_participants", 0, "min_participants: 0 must be a whole number of at least 1."),
        ("min_clicks", 1.5, "min_clicks: 1.5 must be a whole number of at least 1."),
        ("blur_diameter", -1, "blur_diameter: -1 must be a number of at least 0."),
        ("blur_diameter", "21", "blur_diameter: '21' must be a number of at least 0."),
        ("reference_size", 0, "reference_size: 0 must be a whole number of at least 1."),
    ],
)
def test_bad_options_are_named(option, value, message):
    with pytest.raises(ClickMapError) as error:
        build_maps(clicks([("a", "x", "cat", [(1, 1)])]), **{option: value})
    assert str(error.value) == message


# --------------------------------------------------------------------------- files


def test_save_and_load_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        (f"s{p}", f"img{i}", ["cat", "dog"][i % 2], [tuple(c) for c in rng.integers(0, 20, (6, 2))])
        for i in range(4)
        for p in range(3)
    ]
    human = build_maps(clicks(rows, 20, 24), blur_diameter=21.5, reference_size=224)
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


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    human = build_maps(clicks([("a", "x", "cat", [(1, 1)])]))
    path = tmp_path / "human.npz"
    human.save(path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        human.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["human.npz"]


@pytest.mark.parametrize(
    "content",
    [b"", b"plain text", b"PK\x03\x04 not a zip", "npy", "npz of another format"],
)
def test_load_refuses_other_files(tmp_path, content):
    path = tmp_path / "other.npz"
    if content == "npy":
        with path.open("wb") as handle:
            np.save(handle, np.zeros(3))
    elif content == "npz of another format":
        np.savez(path, format=np.array("other/1"), maps=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(ClickMapError) as error:
        ClickMaps.load(path)
    assert str(error.value) == f"{path}: not a ClickMaps file (format psychoalign.ClickMaps/1)."


def test_load_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(MissingFileError, match=r"missing\.npz: no such ClickMaps file\.$"):
        ClickMaps.load(tmp_path / "missing.npz")


def _broken_maps(path, **arrays):
    """A saved ClickMaps file (two images, 6 x 6) with ``arrays`` replaced (None: removed)."""
    build_maps(clicks([("a", "x", "cat", [(1, 1)]), ("b", "y", "dog", [(2, 3)])], 6, 6)).save(path)
    with np.load(path) as data:
        saved = {name: data[name] for name in data.files}
    np.savez(path, **{name: v for name, v in {**saved, **arrays}.items() if v is not None})
    return path


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"clicks": None}, r"has no array 'clicks'; a ClickMaps file has format, images"),
        (
            {"images": np.array([{"x": 1}, None], dtype=object)},
            r"array 'images' holds pickled Python objects, which psychoalign never loads "
            r"\(unpickling runs code\); rebuild the maps with 'clickmaps build'\.$",
        ),
        (
            {"clicks": np.zeros((4, 3), np.int64)},
            r"array 'clicks' has shape \(4, 3\) and type int64, not \(clicks, 4\) integers\.$",
        ),
        (
            {"clicks": np.array([[0, 0, 6, 0]], np.int64)},
            r"array 'clicks' row 0: column 2 \(row\) has 6, outside 0 to 5\.$",
        ),
        ({"categories": np.array(["cat"])}, r"array 'categories' has 1 entries for 2 images\.$"),
        ({"image_size": np.array([6, 0])}, r"array 'image_size' has \[6, 0\], not a \(height"),
        ({"blur_diameter": np.array(-1.0)}, r"array 'blur_diameter' has -1\.0, not a number"),
    ],
    ids=["missing", "object array", "wrong shape", "outside", "lengths", "size", "blur"],
)
def test_load_names_the_array_at_fault(tmp_path, arrays, message):
    path = _broken_maps(tmp_path / "maps.npz", **arrays)
    with pytest.raises(ClickMapError, match=message) as error:
        ClickMaps.load(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
