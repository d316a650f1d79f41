"""ClickMe maps: human feature-importance maps from clicks, and their alignment with models.

Participants click the image parts that matter for recognition (Linsley et al. 2019);
the clicks of all participants become a blurred map per image, and a model's map is
compared with it by Spearman's rho over pixels, relative to a human ceiling measured
on the data at hand (Fel et al. 2022).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.metrics._stats import percentile_interval

__all__ = [
    "ClickMaps",
    "alignment",
    "alignment_summary",
    "build_maps",
    "click_table",
    "disc_kernel",
    "spearman_maps",
    "top_fraction_overlap",
]

#: Columns of :func:`click_table`, in order.
CLICK_COLUMNS = (
    "observer",
    "image",
    "category",
    "row",
    "col",
    "t",
    "click",
    "image_height",
    "image_width",
)
_TRIAL_COLUMNS = ("observer", "image", "category", "image_height", "image_width", "clicks")
_FILE_FORMAT = "psychoalign.ClickMaps/1"
_FLOOR_DRAWS = 10
# Maps blurred per batch, and pixels per batch for the top-fraction masks (bounds memory).
_BLUR_BATCH = 4
_OVERLAP_BATCH_PIXELS = 1 << 22
# A map whose lowest value fills at least 1/_LOW_SHARE of its pixels ranks only the rest.
_LOW_SHARE = 4


# --------------------------------------------------------------------------- clicks


def click_table(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per click, from the ``clicks`` JSON column of a ClickMe trial table.

    Parameters
    ----------
    trials
        One row per image shown, with columns ``observer, image, category,
        image_height, image_width`` and ``clicks``: a JSON list of click objects
        ``{"row": int, "col": int, "t": float, ...}`` with pixel coordinates in the
        stimulus image (0-based, row down) and the time in seconds. A missing or empty
        ``clicks`` value means no clicks. Other columns and click fields are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per click, in trial order: ``observer, image, category, row, col, t,
        click, image_height, image_width`` where ``click`` is the 1-based order of the
        click within its trial.

    Raises
    ------
    ValueError
        Naming the row (its index label) and column of the first bad value: invalid
        JSON, a click that is not an object with whole-number ``row`` and ``col`` and a
        numeric ``t``, a click outside the image, or an image size that is not a
        positive whole number.

    Examples
    --------
    >>> trials = pd.DataFrame({
    ...     "observer": ["s1"], "image": ["cat.png"], "category": ["cat"],
    ...     "image_height": [224], "image_width": [224],
    ...     "clicks": ['[{"row": 10, "col": 20, "t": 0.8}, {"row": 11, "col": 20, "t": 1.3}]'],
    ... })
    >>> click_table(trials)[["observer", "row", "col", "t", "click"]]
      observer  row  col    t  click
    0       s1   10   20  0.8      1
    1       s1   11   20  1.3      2
    """
    missing = [name for name in _TRIAL_COLUMNS if name not in trials.columns]
    if missing:
        raise ValueError(
            f"The trial table has no column {missing[0]!r} (it has: "
            f"{', '.join(map(str, trials.columns))})."
        )
    parts: dict[str, list] = {name: [] for name in CLICK_COLUMNS}
    columns = [trials[name].tolist() for name in _TRIAL_COLUMNS]
    for label, observer, image, category, height, width, raw in zip(
        trials.index, *columns, strict=True
    ):
        height = _pixel_count(height, label, "image_height")
        width = _pixel_count(width, label, "image_width")
        clicks = _parse_clicks(raw, label, height, width)
        if not clicks:
            continue
        count = len(clicks)
        parts["observer"].extend([str(observer)] * count)
        parts["image"].extend([str(image)] * count)
        parts["category"].extend([str(category)] * count)
        parts["row"].extend(row for row, _, _ in clicks)
        parts["col"].extend(col for _, col, _ in clicks)
        parts["t"].extend(t for _, _, t in clicks)
        parts["click"].extend(range(1, count + 1))
        parts["image_height"].extend([height] * count)
        parts["image_width"].extend([width] * count)
    dtypes = {"row": "int64", "col": "int64", "t": "float64", "click": "int64"}
    dtypes |= {"image_height": "int64", "image_width": "int64"}
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype=dtypes.get(name, "str")) for name, values in parts.items()}
    )
    return frame


def _pixel_count(value: object, label: object, column: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        whole = False
    else:
        whole = bool(np.isfinite(value)) and float(value).is_integer() and value > 0
    if not whole:
        raise ValueError(
            f"Row {label}: column {column!r} has {value!r}, which is not a positive whole "
            f"number of pixels."
        )
    return int(value)


def _is_whole(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, numbers.Real) and float(value).is_integer()


def _parse_clicks(
    raw: object, label: object, height: int, width: int
) -> list[tuple[int, int, float]]:
    """The (row, col, t) of each click in one trial's ``clicks`` value."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return []
    if not isinstance(raw, str):
        raise ValueError(f"Row {label}: column 'clicks' has {raw!r}, which is not JSON text.")
    if not raw.strip():
        return []
    try:
        clicks = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Row {label}: column 'clicks' is not valid JSON ({error.msg} at character "
            f"{error.pos})."
        ) from None
    if not isinstance(clicks, list):
        raise ValueError(
            f"Row {label}: column 'clicks' holds a JSON {type(clicks).__name__}, not a list "
            f"of click objects."
        )
    parsed = []
    for number, click in enumerate(clicks, start=1):
        where = f"Row {label}: column 'clicks' has click {number}"
        if not isinstance(click, dict) or not {"row", "col", "t"} <= click.keys():
            raise ValueError(
                f"{where} = {click!r}, which is not an object with 'row', 'col' and 't'."
            )
        row, col, t = click["row"], click["col"], click["t"]
        for name, value in (("row", row), ("col", col)):
            if not _is_whole(value):
                raise ValueError(f"{where} with {name} {value!r}, which is not a pixel index.")
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise ValueError(f"{where} with t {t!r}, which is not a time in seconds.")
        if not (0 <= row < height and 0 <= col < width):
            raise ValueError(
                f"{where} at row {row}, col {col}, outside the {height} x {width} image."
            )
        parsed.append((int(row), int(col), float(t)))
    return parsed


# --------------------------------------------------------------------------- maps


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
    if not _is_whole(diameter) or diameter < 1 or diameter % 2 == 0:
        raise ValueError(f"diameter must be a positive odd number of pixels, got {diameter!r}.")
    diameter = int(diameter)
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

    def save(self, path: str | os.PathLike) -> None:
        """Write to one ``.npz`` file, atomically (a temporary file, then a rename).

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
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> ClickMaps:
        """Read maps written by :meth:`save`.

        Parameters
        ----------
        path
            A file written by :meth:`save`.

        Returns
        -------
        ClickMaps
            Equal field by field to the saved object; :attr:`maps` is rebuilt on use.
        """
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data.files or str(data["format"]) != _FILE_FORMAT:
                raise ValueError(f"{path}: not a ClickMaps file (format {_FILE_FORMAT}).")
            return cls(
                images=data["images"].tolist(),
                categories=data["categories"].tolist(),
                participants=data["participants"].tolist(),
                clicks=data["clicks"],
                image_size=tuple(int(size) for size in data["image_size"]),
                blur_diameter=float(data["blur_diameter"]),
                reference_size=int(data["reference_size"]),
            )

    def _reference(self, n_splits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-image ceiling and floor (cached per n_splits and seed)."""
        key = (n_splits, seed)
        if key not in self._references:
            self._references[key] = (self._ceiling(n_splits, seed), self._floor(seed))
        return self._references[key]

    def _ceiling(self, n_splits: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        ceiling = np.full(len(self.images), np.nan)
        height, width = self.image_size
        for index in range(len(self.images)):
            points = self._points(index)
            n_people = len(points)
            if n_people < 2 or n_splits < 1:
                continue
            choose = np.zeros((n_splits, n_people))
            for split in range(n_splits):
                choose[split, rng.permutation(n_people)[: n_people // 2]] = 1
            first = (choose @ points).round().astype(np.int64).reshape(-1, height, width)
            total = points.sum(axis=0).reshape(1, height, width)
            first = _blur_twice(first, self.kernel_diameter).reshape(n_splits, -1)
            second = (_blur_twice(total, self.kernel_diameter).reshape(1, -1) - first).astype(float)
            first = first.astype(float)
            rho = _spearman_rows(first, second, np.arange(n_splits), np.arange(n_splits))
            mean = float(_finite_row_mean(rho[None])[0])
            if math.isfinite(mean):
                reliability = 2 * mean / (1 + mean) if mean > -1 else 0.0
                ceiling[index] = math.sqrt(max(reliability, 0.0))
        return ceiling

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
        flat = self.maps.reshape(n_images, -1)
        return _finite_row_mean(_spearman_rows(flat, flat, mine, others).reshape(n_images, draws))


def _finite_row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its finite values (NaN where none)."""
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, values, 0.0).sum(axis=1) / finite.sum(axis=1)


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
        clicks = click_table(clicks)
    for name, value, lowest in (
        ("min_participants", min_participants, 1),
        ("min_clicks", min_clicks, 1),
        ("reference_size", reference_size, 1),
    ):
        if not _is_whole(value) or value < lowest:
            raise ValueError(f"{name} must be a whole number >= {lowest}, got {value!r}.")
    real = isinstance(blur_diameter, numbers.Real) and not isinstance(blur_diameter, bool)
    if not real or not math.isfinite(blur_diameter) or blur_diameter < 0:
        raise ValueError(f"blur_diameter must be a number >= 0, got {blur_diameter!r}.")
    needed = ("observer", "image", "category", "row", "col", "image_height", "image_width")
    missing = [name for name in needed if name not in clicks.columns]
    if missing:
        raise ValueError(
            f"The click table has no column {missing[0]!r} (make it with click_table)."
        )
    table = clicks[list(needed)].copy()
    _check_pixels(table)
    table["observer"] = table["observer"].astype(str)
    table["image"] = table["image"].astype(str)
    per_pair = table.groupby(["image", "observer"], sort=False).size()
    table = table.join(per_pair.rename("_made"), on=["image", "observer"])
    table = table[table["_made"] >= min_clicks]
    people = table.groupby("image").observer.nunique()
    kept = sorted(people.index[people >= min_participants])
    if not kept:
        raise ValueError(
            f"No image has at least {min_participants} participant(s) with at least "
            f"{min_clicks} click(s) each."
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
        raise ValueError(
            f"Images have different sizes ({first} is {sizes[first]}, {other} is "
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


def _check_pixels(table: pd.DataFrame) -> None:
    """Every click is a whole pixel inside its image (error names the first bad row)."""
    for name in ("row", "col", "image_height", "image_width"):
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values != np.round(values))
        if name.startswith("image"):
            bad |= values < 1
        if bad.any():
            label = table.index[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"Row {label}: column {name!r} has {table.loc[label, name]!r}, which is not "
                f"a whole number of pixels."
            )
        table[name] = values.astype(np.int64)
    outside = (
        (table["row"] < 0)
        | (table["row"] >= table["image_height"])
        | (table["col"] < 0)
        | (table["col"] >= table["image_width"])
    ).to_numpy()
    if outside.any():
        label = table.index[np.flatnonzero(outside)[0]]
        row = table.loc[label]
        raise ValueError(
            f"Row {label}: columns 'row', 'col' have {row['row']}, {row['col']}, outside the "
            f"{row['image_height']} x {row['image_width']} image."
        )


def _one_per_image(table: pd.DataFrame, column: str) -> pd.Series:
    values = table.groupby("image")[column]
    counts = values.nunique()
    if (counts > 1).any():
        image = counts.index[counts > 1][0]
        found = sorted(map(str, table.loc[table["image"] == image, column].unique()))
        raise ValueError(
            f"Image {image!r} has {column} {' and '.join(found)} in different rows; an "
            f"image has one {column}."
        )
    return values.first()


# --------------------------------------------------------------------------- alignment


def spearman_maps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Spearman's rho over pixels between ``a[i]`` and ``b[i]``, for every pair at once.

    Parameters
    ----------
    a, b
        Maps of equal shape, (pairs, height, width) or (pairs, pixels).

    Returns
    -------
    numpy.ndarray
        Rho per pair (float64); NaN where a map is constant or holds NaN.

    Notes
    -----
    Rho is Pearson's correlation of the average ranks (ties share the mean of their
    ranks, as in :func:`scipy.stats.spearmanr`). With doubled, centred ranks
    :math:`r_k = f_k + l_k + 1 - P` (:math:`f_k, l_k` the first and last 0-based sorted
    position of pixel :math:`k`'s tie group among :math:`P` pixels),

    .. math:: \rho = \frac{\sum_k r^a_k r^b_k}{\sqrt{\sum_k (r^a_k)^2 \sum_k (r^b_k)^2}}

    whose sums are sums of integers, exact in float64 up to about 130,000 pixels.
    Maps are ranked one pair at a time (memory stays a few MB): each map is sorted by a
    two-pass radix sort on the 32 bits of its values as float32 (exact for float32
    maps; for float64 maps, pixels whose float64 values differ but round to the same
    float32 are re-sorted exactly), and when the lowest value (such as 0 in a click
    map) fills a quarter or more of the map, only the other pixels are sorted. A pair
    at 224 x 224 takes 1.5-2.5 ms on one core, several times less than
    :func:`scipy.stats.spearmanr` (``benchmarks/clickmaps.py``).

    Examples
    --------
    >>> a = np.array([[1.0, 2, 3, 4], [0, 0, 1, 1]])
    >>> b = np.array([[2.0, 4, 6, 9], [1, 2, 3, 4]])
    >>> spearman_maps(a, b).round(4)
    array([1.    , 0.8944])
    """
    a_rows, b_rows = _map_rows(a, "a"), _map_rows(b, "b")
    if a_rows.shape != b_rows.shape:
        raise ValueError(f"a and b must have the same shape, got {np.shape(a)} and {np.shape(b)}.")
    index = np.arange(len(a_rows))
    return _spearman_rows(a_rows, b_rows, index, index)


def _map_rows(maps: np.ndarray, name: str) -> np.ndarray:
    """(n, pixels) view of maps; other numeric types are converted one map at a time."""
    maps = np.asarray(maps)
    if maps.ndim not in (2, 3) or maps.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be numeric maps (n, height, width) or (n, pixels), got shape "
            f"{maps.shape} of {maps.dtype}."
        )
    return maps.reshape(len(maps), -1)


class _Ranker:
    """Ranks 1-D maps of up to ``size`` pixels in reused scratch buffers.

    Fresh large arrays are avoided where numpy allows: on some machines the page faults
    of a new 400 kB array cost as much as sorting it.
    """

    def __init__(self, size: int) -> None:
        self._x32 = np.empty(size, np.float32)
        self._key = np.empty(size, np.int32)
        self._shifted = np.empty(size, np.int32)
        self._low_digit = np.empty(size, np.uint16)
        self._high_digit = np.empty(size, np.int16)
        self._sorted = {
            np.dtype(np.float32): np.empty(size, np.float32),
            np.dtype(np.float64): np.empty(size, np.float64),
        }
        self._lowest = np.empty(size, bool)
        self._new = np.empty(size, bool)
        self._run = np.empty(size, np.int64)
        self._positions = np.arange(size, dtype=np.float64)

    def rank(
        self, x: np.ndarray, order_out: np.ndarray, ranks_out: np.ndarray
    ) -> tuple[np.ndarray, float] | None:
        """Rank a map: its sort order and the sum of squared ranks (None: NaN or constant).

        The doubled, centred ranks in sorted order go to ``ranks_out``; the order is
        ``order_out`` or a new array.
        """
        if x.dtype not in self._sorted:
            x = x.astype(np.float64)
        n = x.size
        lowest = x.min()
        if lowest != lowest:
            return None
        low = self._lowest[:n]
        np.equal(x, lowest, out=low)
        n_low = int(np.count_nonzero(low))
        if n_low == n:
            return None
        if n_low * _LOW_SHARE < n:
            return self._sort(x, ranks_out[:n], 0)
        keep = np.flatnonzero(~low)
        sub_order, sum_squares = self._sort(x.take(keep), ranks_out[n_low:n], n_low)
        order_out[:n_low] = np.flatnonzero(low)
        np.take(keep, sub_order, out=order_out[n_low:n])
        ranks_out[:n_low] = n_low - n
        return order_out[:n], sum_squares + n_low * float(n_low - n) ** 2

    def _sort(self, x: np.ndarray, ranks: np.ndarray, shift: int) -> tuple[np.ndarray, float]:
        """Stable order of x; its doubled centred ranks plus shift go to ranks, in order."""
        n = x.size
        x32, key, shifted = self._x32[:n], self._key[:n], self._shifted[:n]
        with np.errstate(over="ignore"):  # float64 beyond float32: inf, re-sorted below
            np.add(x, np.float32(0), out=x32, casting="unsafe")  # also turns -0.0 into 0.0
        bits = x32.view(np.int32)
        np.right_shift(bits, 31, out=shifted)
        np.bitwise_and(shifted, np.int32(0x7FFFFFFF), out=shifted)
        np.bitwise_xor(bits, shifted, out=key)  # an int32 that orders like the float32
        low_digit, high_digit = self._low_digit[:n], self._high_digit[:n]
        np.copyto(low_digit, key, casting="unsafe")
        np.right_shift(key, 16, out=shifted)
        np.copyto(high_digit, shifted, casting="unsafe")
        order = np.lexsort((low_digit, high_digit))  # two stable radix passes
        xs = self._sorted[x.dtype][:n]
        np.take(x, order, out=xs)
        if x.dtype != np.float32 and (xs[1:] < xs[:-1]).any():
            _resort_rounded(order, xs, x32.take(order))
        new = self._new[:n]
        new[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
        if new.all():
            np.multiply(self._positions[:n], 2, out=ranks)
            ranks += 1 - n + shift
            return order, (n**3 - n) / 3 + n * float(shift) ** 2
        run = self._run[:n]
        np.cumsum(new, out=run)
        run -= 1
        size = np.bincount(run)
        doubled = np.cumsum(size)
        doubled -= size
        doubled *= 2
        doubled += size + (shift - n)
        np.take(doubled.astype(np.float64), run, out=ranks)
        return order, float(np.dot(size, doubled * doubled))


def _resort_rounded(order: np.ndarray, xs: np.ndarray, rounded: np.ndarray) -> None:
    """Sort exactly, in place, the groups of values that round to the same float32."""
    group = np.empty(xs.size, np.int64)
    group[0] = 0
    np.cumsum(rounded[1:] != rounded[:-1], out=group[1:])
    bad = np.zeros(group[-1] + 1, bool)
    bad[group[1:][xs[1:] < xs[:-1]]] = True
    selected = np.flatnonzero(bad[group])
    within = np.lexsort((xs[selected], group[selected]))
    order[selected] = order[selected][within]
    xs[selected] = xs[selected][within]


def _spearman_rows(
    a: np.ndarray, b: np.ndarray, a_index: np.ndarray, b_index: np.ndarray
) -> np.ndarray:
    """Rho between rows a[a_index[k]] and b[b_index[k]] of two (maps, pixels) arrays."""
    rho = np.full(len(a_index), np.nan)
    n = a.shape[1]
    if n < 2:
        return rho
    ranker = _Ranker(n)
    order_a, ranks_a = np.empty(n, np.int64), np.empty(n)
    order_b, ranks_b = np.empty(n, np.int64), np.empty(n)
    scattered, gathered = np.empty(n), np.empty(n)
    for k, (i, j) in enumerate(zip(a_index.tolist(), b_index.tolist(), strict=True)):
        ranked_a = ranker.rank(a[i], order_a, ranks_a)
        if ranked_a is None:
            continue
        ranked_b = ranker.rank(b[j], order_b, ranks_b)
        if ranked_b is None:
            continue
        (sorted_a, squares_a), (sorted_b, squares_b) = ranked_a, ranked_b
        scattered[sorted_b] = ranks_b
        # einsum, not BLAS: a multithreaded BLAS call per pair costs more than the sum.
        np.take(scattered, sorted_a, out=gathered)
        cross = np.einsum("i,i->", ranks_a, gathered)
        rho[k] = min(max(cross / math.sqrt(squares_a * squares_b), -1.0), 1.0)
    return rho


def _top_count(n_pixels: int, fraction: float) -> int:
    """ceil(fraction * n_pixels), tolerant of rounding (0.7 * 10 gives 7)."""
    return min(max(math.ceil(fraction * n_pixels - 1e-9), 1), n_pixels)


def top_fraction_overlap(
    a: np.ndarray, b: np.ndarray, fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    r"""Dice and IoU of the top pixels of ``a[i]`` and ``b[i]``, for every pair.

    Parameters
    ----------
    a, b
        Maps of equal shape, (pairs, height, width) or (pairs, pixels).
    fraction
        Share of pixels taken from each map: its :math:`k = \lceil fP \rceil` highest.

    Returns
    -------
    tuple of numpy.ndarray
        ``dice`` and ``iou`` per pair; NaN where a map holds NaN.

    Notes
    -----
    Ties at the threshold are broken by pixel order: among equal values the pixel that
    comes first in row-major order is taken. With top sets :math:`A, B` of :math:`k`
    pixels each,

    .. math:: \mathrm{Dice} = \frac{2|A \cap B|}{|A| + |B|} = \frac{|A \cap B|}{k},
              \qquad \mathrm{IoU} = \frac{|A \cap B|}{|A \cup B|}
              = \frac{|A \cap B|}{2k - |A \cap B|}.

    References
    ----------
    .. [1] Fel, Felipe, Linsley & Serre (2022). Harmonizing the object recognition
       strategies of deep neural networks with humans. NeurIPS.

    Examples
    --------
    >>> a = np.array([[9.0, 8, 7, 0, 0, 0, 0, 0, 0, 0]])
    >>> b = np.array([[9.0, 0, 7, 8, 0, 0, 0, 0, 0, 0]])
    >>> top_fraction_overlap(a, b, fraction=0.2)
    (array([0.5]), array([0.33333333]))
    """
    a_rows, b_rows = _map_rows(a, "a"), _map_rows(b, "b")
    if a_rows.shape != b_rows.shape:
        raise ValueError(f"a and b must have the same shape, got {np.shape(a)} and {np.shape(b)}.")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
    n_pairs, n_pixels = a_rows.shape
    dice = np.full(n_pairs, np.nan)
    iou = np.full(n_pairs, np.nan)
    if n_pixels == 0:
        return dice, iou
    k = _top_count(n_pixels, fraction)
    batch = max(1, _OVERLAP_BATCH_PIXELS // n_pixels)
    for start in range(0, n_pairs, batch):
        stop = min(start + batch, n_pairs)
        top_a, valid_a = _top_mask(a_rows[start:stop], k)
        top_b, valid_b = _top_mask(b_rows[start:stop], k)
        shared = np.count_nonzero(top_a & top_b, axis=1)
        valid = valid_a & valid_b
        dice[start:stop] = np.where(valid, shared / k, np.nan)
        iou[start:stop] = np.where(valid, shared / (2 * k - shared), np.nan)
    return dice, iou


def _top_mask(maps: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mask of each row's k highest pixels (first in pixel order among ties); NaN-free rows."""
    n_pixels = maps.shape[1]
    valid = ~np.isnan(maps).any(axis=1)
    threshold = np.partition(maps, n_pixels - k, axis=1)[:, n_pixels - k : n_pixels - k + 1]
    above = maps > threshold
    equal = maps == threshold
    wanted = k - np.count_nonzero(above, axis=1)
    return above | (equal & (np.cumsum(equal, axis=1) <= wanted[:, None])), valid


def alignment(
    human: ClickMaps,
    model_maps: np.ndarray,
    *,
    n_splits: int = 50,
    seed: int = 0,
    top_fraction: float = 0.1,
) -> pd.DataFrame:
    r"""Alignment of a model's maps with the human maps, per image, with ceiling and floor.

    Parameters
    ----------
    human
        Human maps from :func:`build_maps`.
    model_maps
        One map per image, (images, height, width), in ``human.images`` order and at the
        images' size (resampling is the caller's job).
    n_splits
        Random split halves of each image's participants for the ceiling.
    seed
        Seed of the split halves (``np.random.default_rng(seed)``) and of the floor's
        draws (``np.random.default_rng([seed, 1])``).
    top_fraction
        Share of pixels compared by Dice and IoU (:func:`top_fraction_overlap`).

    Returns
    -------
    pandas.DataFrame
        One row per image: ``image, category, spearman, dice, iou, ceiling, floor,
        n_participants``.

    Notes
    -----
    ``spearman`` is :func:`spearman_maps` between the model map and the human map.

    Ceiling. The participants of an image are split ``n_splits`` times into random
    disjoint halves of :math:`\lfloor n/2 \rfloor` and :math:`\lceil n/2 \rceil`; each
    half's map is built the same way as the full map and :math:`\rho_s` is Spearman's
    rho between the two half maps. Write the map of :math:`n` participants as
    :math:`H = T + E`, the noise-free map :math:`T` (the map of infinitely many
    participants) plus noise whose variance shrinks as :math:`1/n`. Two independent
    maps of :math:`n` participants correlate at :math:`R = \mathrm{var}\,T / \mathrm{var}\,H`,
    and the noise-free map correlates with :math:`H` at :math:`\sqrt{R}`: the best any
    model can reach. Halves hold :math:`n/2` participants, so the Spearman-Brown
    prophecy formula turns their correlation into that of full maps,

    .. math:: R = \frac{2\bar\rho}{1 + \bar\rho}, \qquad
              \mathrm{ceiling} = \sqrt{\max(R, 0)}

    with :math:`\bar\rho` the mean of :math:`\rho_s` over splits. The derivation holds
    for Pearson's r under additive noise; for rank correlations it is the usual
    approximation. NaN with fewer than 2 participants.

    Floor: the mean rho between the image's human map and the human maps of
    :math:`\min(10, N - 1)` other images drawn at random: the alignment of a map that
    knows where clicks usually fall but nothing of this image. NaN with one image.
    Ceilings and floors are cached on ``human`` per ``(n_splits, seed)``.

    References
    ----------
    .. [1] Linsley, Shiebler, Eberhardt & Serre (2019). Learning what and where to
       attend. ICLR.
    .. [2] Fel, Felipe, Linsley & Serre (2022). Harmonizing the object recognition
       strategies of deep neural networks with humans. NeurIPS.
    .. [3] Spearman (1910); Brown (1910). British Journal of Psychology 3.

    """
    model_maps = np.asarray(model_maps)
    expected = (len(human.images), *human.image_size)
    if model_maps.shape != expected:
        raise ValueError(
            f"model_maps has shape {model_maps.shape}, expected {expected}: one map per "
            f"image in human.images order, at the images' size."
        )
    if not _is_whole(n_splits) or n_splits < 1:
        raise ValueError(f"n_splits must be a whole number >= 1, got {n_splits!r}.")
    ceiling, floor = human._reference(int(n_splits), seed)
    spearman = spearman_maps(human.maps, model_maps)
    dice, iou = top_fraction_overlap(human.maps, model_maps, top_fraction)
    return pd.DataFrame(
        {
            "image": human.images,
            "category": human.categories,
            "spearman": spearman,
            "dice": dice,
            "iou": iou,
            "ceiling": ceiling,
            "floor": floor,
            "n_participants": human.n_participants,
        }
    )


_GROUPS = ("model", "method")
_SUMMARY_COLUMNS = [
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
]


def alignment_summary(
    per_image: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95
) -> pd.DataFrame:
    r"""Mean alignment over images, as a share of the human ceiling, with bootstrap CIs.

    Parameters
    ----------
    per_image
        Output of :func:`alignment`, possibly several concatenated with ``model`` and/or
        ``method`` columns (one summary row per combination).
    n_boot
        Bootstrap resamples of the images (0: no intervals).
    seed
        Seed of the bootstrap; every group uses ``np.random.default_rng(seed)``, so groups
        with the same images in the same order are resampled alike (paired comparisons).
    ci
        Coverage of the percentile intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``[model, method,] n_images, spearman, spearman_ci_low,
        spearman_ci_high, ceiling, floor, score, score_ci_low, score_ci_high, dice,
        iou``.

    Notes
    -----
    Means are over images with a finite value. The score is the ratio of means

    .. math:: \mathrm{score} = \frac{\overline{\rho}}{\overline{\mathrm{ceiling}}}

    (Fel et al. 2022 report :math:`\overline{\rho}` relative to the human ceiling).
    Intervals: percentiles over ``n_boot`` resamples of the images with replacement,
    recomputing both means of the ratio in each.

    References
    ----------
    .. [1] Fel, Felipe, Linsley & Serre (2022). Harmonizing the object recognition
       strategies of deep neural networks with humans. NeurIPS.

    Examples
    --------
    >>> per_image = pd.DataFrame({"spearman": [0.3, 0.5], "ceiling": [0.8, 0.8],
    ...     "floor": [0.1, 0.2], "dice": [0.4, 0.6], "iou": [0.25, 0.43]})
    >>> alignment_summary(per_image, n_boot=0)[["n_images", "spearman", "score"]]
       n_images  spearman  score
    0         2       0.4    0.5
    """
    needed = ("spearman", "ceiling", "floor", "dice", "iou")
    missing = [name for name in needed if name not in per_image.columns]
    if missing:
        raise ValueError(f"per_image has no column {missing[0]!r} (make it with alignment).")
    groups = [name for name in _GROUPS if name in per_image.columns]
    rows = []
    parts = per_image.groupby(groups, sort=False, dropna=False) if groups else [((), per_image)]
    for key, part in parts:
        key = key if isinstance(key, tuple) else (key,)
        rows.append([*key, *_summary_row(part, n_boot, seed, ci)])
    return pd.DataFrame(rows, columns=[*groups, *_SUMMARY_COLUMNS])


def _finite_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted means over the finite values, per row of weights."""
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ np.where(finite, values, 0.0)) / (weights @ finite)


def _summary_row(part: pd.DataFrame, n_boot: int, seed: int, ci: float) -> list:
    rho = part["spearman"].to_numpy(dtype=float)
    ceiling = part["ceiling"].to_numpy(dtype=float)
    one = np.ones((1, len(part)))
    mean_rho, mean_ceiling = _finite_mean(rho, one)[0], _finite_mean(ceiling, one)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = mean_rho / mean_ceiling
    rho_ci = score_ci = (np.nan, np.nan)
    if n_boot > 0 and len(part) > 0:
        rng = np.random.default_rng(seed)
        n_images = len(part)
        weights = rng.multinomial(n_images, np.full(n_images, 1 / n_images), size=n_boot)
        boot_rho = _finite_mean(rho, weights.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot_score = boot_rho / _finite_mean(ceiling, weights.astype(float))
        if np.isfinite(boot_rho).any():
            rho_ci = percentile_interval(boot_rho, ci)
        if np.isfinite(boot_score).any():
            score_ci = percentile_interval(boot_score, ci)
    means = [
        _finite_mean(part[name].to_numpy(dtype=float), one)[0] for name in ("floor", "dice", "iou")
    ]
    return [
        len(part),
        mean_rho,
        float(rho_ci[0]),
        float(rho_ci[1]),
        mean_ceiling,
        means[0],
        score,
        float(score_ci[0]),
        float(score_ci[1]),
        means[1],
        means[2],
    ]
