"""ClickMe maps: per-image human maps from clicks, blurred twice with a disc.

Per participant a binary point map, averaged over participants, convolved twice with a
disc of 21 px at 224 px (Linsley et al. 2019; Fel et al. 2022). :class:`ClickMaps` keeps
the clicks, so split-half maps (the human ceiling of
:func:`~psychoalign.metrics.clickmaps.alignment`) are built the same way as the full map.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign._checks import number_at_least, whole_number
from psychoalign._io import read_npz, write_npz_atomic
from psychoalign.errors import ClickMapError, MissingFileError
from psychoalign.metrics._stats import finite_row_mean
from psychoalign.metrics.clickmaps.clicks import _checked_clicks, _one_per_image, click_table

__all__ = ["ClickMaps", "build_maps", "disc_kernel"]

_FILE_FORMAT = "psychoalign.ClickMaps/1"
_ARRAYS = (
    "format",
    "images",
    "categories",
    "participants",
    "clicks",
    "image_size",
    "blur_diameter",
    "reference_size",
)
_FLOOR_DRAWS = 10
# Maps blurred per batch (bounds memory).
_BLUR_BATCH = 4


def disc_kernel(diameter: int) -> np.ndarray:
    r"""The digital disc of an odd diameter: pixels whose centres lie within diameter / 2.

    Parameters
    ----------
    diameter
        Odd diameter in pixels (1 gives a single pixel).

    Returns
    -------
    numpy.ndarray
        Boolean ``diameter x diameter`` mask, symmetric under flips and transposition.

    Notes
    -----
    Pixel :math:`(d_y, d_x)` (offsets from the centre) belongs to the disc when
    :math:`d_y^2 + d_x^2 \le (D/2)^2`. Its area approximates :math:`\pi D^2 / 4`:
    349 pixels for :math:`D = 21` (:math:`\pi \cdot 10.5^2 \approx 346`).

    Examples
    --------
    >>> int(disc_kernel(21).sum())
    349
    >>> disc_kernel(5).astype(int)
    array([[0, 1, 1, 1, 0],
           [1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 0]])
    """
    diameter = whole_number("diameter", diameter, 1, error=ClickMapError)
    if diameter % 2 == 0:
        raise ClickMapError(f"diameter: {diameter!r} must be an odd whole number of at least 1.")
    radius = diameter // 2
    offsets = np.arange(-radius, radius + 1)
    return 4 * (offsets[:, None] ** 2 + offsets[None, :] ** 2) <= diameter * diameter


def _kernel_diameter(blur_diameter: float, image_size: int, reference_size: int) -> int:
    """Odd diameter nearest to blur_diameter * image_size / reference_size (even: up)."""
    scaled = blur_diameter * image_size / reference_size
    return 2 * math.floor(scaled / 2) + 1


def _half_widths(diameter: int) -> list[int]:
    """Half width of each row of the disc, top to bottom."""
    radius = diameter // 2
    return [
        math.isqrt((diameter * diameter - 4 * dy * dy) // 4) for dy in range(-radius, radius + 1)
    ]


def _disc_sum(values: np.ndarray, half_widths: list[int], dtype: type) -> np.ndarray:
    """Sum over the disc around every pixel, zero outside the image (exact for integers).

    ``values`` is (maps, height, width); each disc row is a running-sum difference.
    """
    n_maps, height, width = values.shape
    radius = len(half_widths) // 2
    running = np.zeros((n_maps, height, width + 2 * radius + 1), dtype)
    np.cumsum(values, axis=2, dtype=dtype, out=running[:, :, radius + 1 : radius + 1 + width])
    running[:, :, radius + 1 + width :] = running[:, :, radius + width : radius + width + 1]
    total = np.zeros((n_maps, height, width), dtype)
    boxes: dict[int, np.ndarray] = {}
    for dy, half in zip(range(-radius, radius + 1), half_widths, strict=True):
        if abs(dy) >= height:
            continue
        box = boxes.get(half)
        if box is None:
            box = running[:, :, radius + half + 1 : radius + half + 1 + width]
            box = boxes[half] = box - running[:, :, radius - half : radius - half + width]
        if dy >= 0:
            total[:, : height - dy] += box[:, dy:]
        else:
            total[:, -dy:] += box[:, : height + dy]
    return total


def _blur_twice(counts: np.ndarray, diameter: int) -> np.ndarray:
    """Disc sums applied twice to integer counts (maps, height, width): exact integers."""
    disc_area = int(disc_kernel(diameter).sum())
    largest = int(counts.max(initial=0)) * disc_area * disc_area
    dtype = np.int32 if largest < 2**31 else np.int64
    half_widths = _half_widths(diameter)
    return _disc_sum(_disc_sum(counts, half_widths, dtype), half_widths, dtype)


@dataclass(eq=False)
class ClickMaps:
    """Per-image human click maps, with the clicks needed to rebuild them from any subset.

    Build with :func:`build_maps`; save with :meth:`save` and read back with
    :meth:`load`.

    Attributes
    ----------
    images
        Image names, sorted; the order of :attr:`maps` and of every per-image output.
    categories
        Category of each image.
    participants
        Names of the participants who contributed clicks, sorted.
    clicks
        Integer array (clicks, 4) with columns ``image, participant, row, col``: indices
        into :attr:`images` and :attr:`participants`, and the clicked pixel. Every click
        made is kept (also repeats of a pixel), ordered by image, participant, time.
    image_size
        ``(height, width)`` shared by all images.
    blur_diameter
        Blur diameter in pixels at ``reference_size``.
    reference_size
        Image size (larger side) at which ``blur_diameter`` applies.
    """

    images: list[str]
    categories: list[str]
    participants: list[str]
    clicks: np.ndarray
    image_size: tuple[int, int]
    blur_diameter: float
    reference_size: int
    _references: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        clicks = np.asarray(self.clicks, dtype=np.int64).reshape(-1, 4)
        self.clicks = clicks[np.lexsort((clicks[:, 1], clicks[:, 0]))]
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    @cached_property
    def _bounds(self) -> np.ndarray:
        """Rows of :attr:`clicks` of image i: ``_bounds[i]`` to ``_bounds[i + 1]``."""
        return np.searchsorted(self.clicks[:, 0], np.arange(len(self.images) + 1))

    @property
    def kernel_diameter(self) -> int:
        """Diameter of the disc kernel at this image size (odd, at least 1).

        ``blur_diameter * max(image_size) / reference_size`` rounded to the nearest odd
        integer, an even value going up: 21 at 224 px stays 21, 42 at 448 px gives 43.
        """
        return _kernel_diameter(self.blur_diameter, max(self.image_size), self.reference_size)

    @cached_property
    def n_participants(self) -> np.ndarray:
        """Number of participants contributing to each image's map."""
        pairs = np.unique(self.clicks[:, 0] * len(self.participants) + self.clicks[:, 1])
        return np.bincount(pairs // len(self.participants), minlength=len(self.images))

    @cached_property
    def maps(self) -> np.ndarray:
        """Human maps, float64 (images, height, width).

        Per participant a binary point map (1 at each clicked pixel), averaged over
        participants, then convolved twice with the disc of :attr:`kernel_diameter`
        normalised to sum 1, with zeros outside the image.
        """
        height, width = self.image_size
        n_images = len(self.images)
        scale = self.n_participants * float(disc_kernel(self.kernel_diameter).sum()) ** 2
        maps = np.empty((n_images, height, width))
        for start in range(0, n_images, _BLUR_BATCH):
            stop = min(start + _BLUR_BATCH, n_images)
            blurred = _blur_twice(self._counts(start, stop), self.kernel_diameter)
            np.divide(blurred, scale[start:stop, None, None], out=maps[start:stop])
        return maps

    def _counts(self, start: int, stop: int) -> np.ndarray:
        """Participants who clicked each pixel, (images start to stop, height, width)."""
        height, width = self.image_size
        n_pixels = height * width
        n_people = max(len(self.participants), 1)
        image, participant, row, col = self.clicks[self._bounds[start] : self._bounds[stop]].T
        key = np.unique(((image - start) * n_people + participant) * n_pixels + row * width + col)
        flat = (key // (n_people * n_pixels)) * n_pixels + key % n_pixels
        counts = np.bincount(flat, minlength=(stop - start) * n_pixels)
        return counts.reshape(stop - start, height, width)

    def _points(self, index: int) -> np.ndarray:
        """Binary point maps (participants of this image, pixels) of one image."""
        height, width = self.image_size
        mine = self.clicks[self._bounds[index] : self._bounds[index + 1]]
        _, who = np.unique(mine[:, 1], return_inverse=True)
        points = np.zeros((who.max(initial=-1) + 1, height * width), np.int32)
        points[who, mine[:, 2] * width + mine[:, 3]] = 1
        return points

    def summary(self) -> pd.DataFrame:
        """One row per image: ``image, category, n_participants, n_clicks``.

        ``n_clicks`` counts every click of the kept participants, repeats included.
        """
        return pd.DataFrame(
            {
                "image": self.images,
                "category": self.categories,
                "n_participants": self.n_participants,
                "n_clicks": np.bincount(self.clicks[:, 0], minlength=len(self.images)),
            }
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to one ``.npz`` file, atomically (a temporary file, flushed to disk, renamed).

        Parameters
        ----------
        path
            Destination; written as given (no suffix is added).
        """
        path = Path(path)
        arrays = {
            "format": np.array(_FILE_FORMAT),
            "images": np.array(self.images, dtype=str),
            "categories": np.array(self.categories, dtype=str),
            "participants": np.array(self.participants, dtype=str),
            "clicks": np.asarray(self.clicks, dtype=np.int64).reshape(-1, 4),
            "image_size": np.array(self.image_size, dtype=np.int64),
            "blur_diameter": np.array(self.blur_diameter, dtype=np.float64),
            "reference_size": np.array(self.reference_size, dtype=np.int64),
        }
        write_npz_atomic(path, arrays, fsync=True)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ClickMaps:
        """Read maps written by :meth:`save`.

        Parameters
        ----------
        path
            A file written by :meth:`save`.

        Returns
        -------
        ClickMaps
            Equal field by field to the saved object; :attr:`maps` is rebuilt on use.

        Raises
        ------
        psychoalign.errors.MissingFileError
            ``path`` does not exist.
        psychoalign.errors.ClickMapError
            ``path`` is not a file written by :meth:`save`.
        """
        if not Path(path).is_file():
            raise MissingFileError(f"{path}: no such ClickMaps file.")
        arrays = _checked_arrays(path, _read_arrays(path))
        return cls(
            images=arrays["images"].tolist(),
            categories=arrays["categories"].tolist(),
            participants=arrays["participants"].tolist(),
            clicks=arrays["clicks"],
            image_size=tuple(int(size) for size in arrays["image_size"]),
            blur_diameter=float(arrays["blur_diameter"]),
            reference_size=int(arrays["reference_size"]),
        )

    def _reference(self, n_splits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-image ceiling and floor (cached per n_splits and seed)."""
        key = (n_splits, seed)
        if key not in self._references:
            self._references[key] = (self._ceiling(n_splits, seed), self._floor(seed))
        return self._references[key]

    @cached_property
    def _ranked(self) -> tuple[np.ndarray, np.ndarray]:
        """Ranks of :attr:`maps` for Spearman's rho, int32 (images, pixels), and their norms.

        Kept like :attr:`maps` (half its memory), so the human maps are ranked once for
        every model aligned with them and for the floor.
        """
        from psychoalign.metrics.clickmaps._ranking import rank_rows  # imports numba

        return rank_rows(self.maps.reshape(len(self.images), -1))

    def _ceiling(self, n_splits: int, seed: int) -> np.ndarray:
        from psychoalign.metrics.clickmaps._ranking import spearman_pairs  # imports numba

        rng = np.random.default_rng(seed)
        ceiling = np.full(len(self.images), np.nan)
        for index in range(len(self.images)):
            points = self._points(index)
            n_people = len(points)
            if n_people < 2 or n_splits < 1:
                continue
            first, second = self._half_maps(points, n_splits, rng)
            rho = spearman_pairs(first, second)  # integer maps: exact keys
            mean = float(finite_row_mean(rho[None])[0])
            if math.isfinite(mean):
                reliability = 2 * mean / (1 + mean) if mean > -1 else 0.0
                ceiling[index] = math.sqrt(max(reliability, 0.0))
        return ceiling

    def _half_maps(
        self, points: np.ndarray, n_splits: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Blurred click counts of two random halves of the participants, per split.

        ``points`` are an image's point maps (:meth:`_points`); each split draws one
        permutation of them from ``rng``. Returns two (splits, pixels) int64 arrays.
        The blur is linear, so whichever is fewer is blurred: the participants' point
        maps (then summed per half by a product of 0/1 and integers below 2**53, exact
        in float64) or the splits' half maps. Both give the same integers.
        """
        choose = np.zeros((n_splits, len(points)))
        for split in range(n_splits):
            choose[split, rng.permutation(len(points))[: len(points) // 2]] = 1
        shape = (-1, *self.image_size)
        if len(points) <= len(choose) + 1:
            blurred = _blur_twice(points.reshape(shape), self.kernel_diameter)
            blurred = blurred.reshape(len(points), -1)
            first = (choose @ blurred).astype(np.int64)
            return first, blurred.sum(axis=0, dtype=np.int64) - first
        first = (choose @ points).round().astype(np.int64).reshape(shape)
        first = _blur_twice(first, self.kernel_diameter).reshape(len(choose), -1)
        total = _blur_twice(points.sum(axis=0).reshape(shape), self.kernel_diameter)
        return first, total.reshape(1, -1) - first

    def _floor(self, seed: int) -> np.ndarray:
        n_images = len(self.images)
        if n_images < 2:
            return np.full(n_images, np.nan)
        rng = np.random.default_rng([seed, 1])
        draws = min(_FLOOR_DRAWS, n_images - 1)
        others = np.stack(
            [rng.choice(n_images - 1, size=draws, replace=False) for _ in range(n_images)]
        )
        mine = np.repeat(np.arange(n_images), draws)
        others = others.ravel()
        others += others >= mine
        from psychoalign.metrics.clickmaps._ranking import ranked_rho  # imports numba

        rho = ranked_rho(*self._ranked, mine, others)
        return finite_row_mean(rho.reshape(n_images, draws))


def _read_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a ClickMaps file, never unpickling (``allow_pickle=False``).

    Raises :class:`~psychoalign.errors.ClickMapError` naming the file and, where there
    is one, the array at fault: not an ``.npz`` of our format, an array missing, or an
    object array (a pickle, which would run code when loaded).
    """
    not_ours = f"{path}: not a ClickMaps file (format {_FILE_FORMAT})."
    arrays = read_npz(path, ClickMapError, not_ours, "; rebuild the maps with 'clickmaps build'")
    if "format" not in arrays or str(arrays["format"]) != _FILE_FORMAT:
        raise ClickMapError(not_ours)
    for name in _ARRAYS:
        if name not in arrays:
            raise ClickMapError(
                f"{path}: has no array '{name}'; a ClickMaps file has "
                f"{', '.join(_ARRAYS)} (rebuild it with 'clickmaps build')."
            )
    return {name: arrays[name] for name in _ARRAYS}


def _checked_arrays(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> dict:
    """The arrays of a ClickMaps file with their shapes, types and indices checked."""

    def refuse(name: str, problem: str) -> None:
        raise ClickMapError(f"{path}: array '{name}' {problem}.")

    for name in ("images", "categories", "participants"):
        if arrays[name].ndim != 1 or arrays[name].dtype.kind != "U":
            refuse(
                name,
                f"has shape {arrays[name].shape} and type {arrays[name].dtype}, not a list of "
                "names",
            )
    if len(arrays["categories"]) != len(arrays["images"]):
        refuse(
            "categories",
            f"has {len(arrays['categories'])} entries for {len(arrays['images'])} images",
        )
    clicks, size = arrays["clicks"], arrays["image_size"]
    if size.shape != (2,) or size.dtype.kind not in "iu" or (size < 1).any():
        refuse(
            "image_size", f"has {size.tolist()!r}, not a (height, width) of positive whole numbers"
        )
    if clicks.ndim != 2 or clicks.shape[1] != 4 or clicks.dtype.kind not in "iu":
        refuse(
            "clicks", f"has shape {clicks.shape} and type {clicks.dtype}, not (clicks, 4) integers"
        )
    limits = (len(arrays["images"]), len(arrays["participants"]), *size.tolist())
    for column, (label, limit) in enumerate(
        zip(("image", "participant", "row", "col"), limits, strict=True)
    ):
        bad = (clicks[:, column] < 0) | (clicks[:, column] >= limit)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            refuse(
                "clicks",
                f"row {position}: column {column} ({label}) has {clicks[position, column]}, "
                f"outside 0 to {limit - 1}",
            )
    for name, least in (("blur_diameter", 0), ("reference_size", 1)):
        value = arrays[name]
        if (
            value.shape != ()
            or value.dtype.kind not in "iuf"
            or not np.isfinite(value)
            or value < least
        ):
            refuse(name, f"has {value.tolist()!r}, not a number of at least {least}")
    return arrays


def build_maps(
    clicks: pd.DataFrame,
    *,
    min_participants: int = 1,
    min_clicks: int = 1,
    blur_diameter: float = 21,
    reference_size: int = 224,
) -> ClickMaps:
    r"""Human ClickMe maps per image: participants' point maps, averaged, blurred twice.

    Parameters
    ----------
    clicks
        Click table from :func:`click_table` (a trial table with a ``clicks`` column is
        expanded with it first).
    min_participants
        Keep only images with at least this many participants (after ``min_clicks``).
    min_clicks
        A participant counts for an image only with at least this many clicks on it
        (repeats of a pixel included).
    blur_diameter
        Diameter in pixels of the disc kernel at ``reference_size`` (21 at 224 px as in
        Linsley et al. 2019 and Fel et al. 2022).
    reference_size
        Image size (larger side) at which ``blur_diameter`` applies; the kernel scales
        with the images' larger side.

    Returns
    -------
    ClickMaps
        Maps in :attr:`ClickMaps.maps` (images sorted by name), with the clicks per
        participant for split halves; :meth:`ClickMaps.summary` gives ``image,
        category, n_participants, n_clicks``.

    Raises
    ------
    psychoalign.errors.ClickMapError
        A parameter out of range (the message names it), a click table without a
        needed column or with a bad pixel (the message names the row and column), an
        image with two categories or sizes, images of different sizes, or no image
        left after the filters.

    Notes
    -----
    For image :math:`i` with participants :math:`p = 1..n`,

    .. math:: M_i = K * K * \frac{1}{n} \sum_p B_{ip}, \qquad
              K = \frac{1}{|D|} \mathbf{1}_D

    where :math:`B_{ip}` is 1 at each pixel participant :math:`p` clicked (a pixel
    clicked twice counts once) and :math:`D` is the digital disc
    (:func:`disc_kernel`) of diameter ``blur_diameter * max(height, width) /
    reference_size`` rounded to the nearest odd integer (an even value goes up: 42 ->
    43). Each convolution is a direct convolution with zero padding, identical to
    ``scipy.ndimage.convolve(..., mode="constant", cval=0)``; it is computed exactly on
    the integer click counts (running sums along rows), so equal pixels stay exactly
    equal (ties matter to Spearman's rho), and divided by :math:`n |D|^2` at the end.

    References
    ----------
    .. [1] Linsley, Shiebler, Eberhardt & Serre (2019). Learning what and where to
       attend. ICLR.
    .. [2] Fel, Felipe, Linsley & Serre (2022). Harmonizing the object recognition
       strategies of deep neural networks with humans. NeurIPS.

    Examples
    --------
    >>> clicks = pd.DataFrame({"observer": ["a", "a", "b"], "image": "x.png",
    ...     "category": "cat", "row": [5, 5, 2], "col": [5, 5, 7], "t": [1.0, 2.0, 1.5],
    ...     "click": [1, 2, 1], "image_height": 11, "image_width": 11})
    >>> human = build_maps(clicks, blur_diameter=3, reference_size=11)
    >>> human.summary()
       image category  n_participants  n_clicks
    0  x.png      cat               2         3
    >>> human.maps.shape, round(float(human.maps.sum()), 6)
    ((1, 11, 11), 1.0)
    """
    if "clicks" in clicks.columns and "row" not in clicks.columns:
        clicks = click_table(clicks, source="clicks")
    for name, value in (
        ("min_participants", min_participants),
        ("min_clicks", min_clicks),
        ("reference_size", reference_size),
    ):
        whole_number(name, value, 1, error=ClickMapError)
    number_at_least("blur_diameter", blur_diameter, 0, error=ClickMapError)
    table = _checked_clicks(clicks)
    per_pair = table.groupby(["image", "observer"], sort=False).size()
    table = table.join(per_pair.rename("_made"), on=["image", "observer"])
    table = table[table["_made"] >= min_clicks]
    people = table.groupby("image").observer.nunique()
    kept = sorted(people.index[people >= min_participants])
    if not kept:
        raise ClickMapError(
            f"min_participants: {min_participants!r} keeps no image, as none has that many "
            f"participants with at least {min_clicks} click(s) each (min_clicks)."
        )
    table = table[table["image"].isin(kept)]
    categories = _one_per_image(table, "category")
    sizes = (
        _one_per_image(table, "image_height").astype(str)
        + " x "
        + _one_per_image(table, "image_width").astype(str)
    )
    if sizes.nunique() > 1:
        first, other = sizes.index[0], sizes.index[sizes != sizes.iloc[0]][0]
        raise ClickMapError(
            f"clicks: the images have different sizes ({first} is {sizes[first]}, {other} is "
            f"{sizes[other]}); build maps for images of one size at a time."
        )
    participants = sorted(table["observer"].unique())
    image_index = pd.Index(kept).get_indexer(table["image"])
    participant_index = pd.Index(participants).get_indexer(table["observer"])
    array = np.column_stack(
        [image_index, participant_index, table["row"].to_numpy(), table["col"].to_numpy()]
    ).astype(np.int64)
    array = array[np.lexsort((participant_index, image_index))]
    return ClickMaps(
        images=kept,
        categories=[str(categories[image]) for image in kept],
        participants=participants,
        clicks=array,
        image_size=(int(table["image_height"].iloc[0]), int(table["image_width"].iloc[0])),
        blur_diameter=float(blur_diameter),
        reference_size=int(reference_size),
    )
