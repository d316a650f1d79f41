"""Alignment of model maps with ClickMe human maps: Spearman's rho, Dice and IoU, summaries.

A model's map is compared with the human map by Spearman's rho over pixels, relative to a
human ceiling measured on the data at hand by split halves of participants, and by the
overlap of their top pixels (Fel et al. 2022).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from psychoalign._checks import DEFAULT_N_BOOT, positive_number, whole_number
from psychoalign._checks import fraction as share
from psychoalign.errors import ClickMapError
from psychoalign.metrics._stats import percentile_interval
from psychoalign.metrics.clickmaps.maps import ClickMaps

__all__ = ["alignment", "alignment_summary", "spearman_maps", "top_fraction_overlap"]

# Pixels per batch for the top-fraction masks (bounds memory).
_OVERLAP_BATCH_PIXELS = 1 << 22


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

    whose sums are sums of integers, exact in float64 up to about 300,000 pixels.
    Each map is ranked once, by a compiled radix sort on the bits of its values as
    float32 (exact for float32 and integer maps; for float64 maps, pixels whose values
    differ but round to the same float32 are re-sorted exactly); the pixels at the map's
    lowest value (such as 0 in a click map) are left out of the sort and share one rank.
    Blocks of pairs are ranked on several threads: ``OMP_NUM_THREADS`` where set, else
    one per core this process may use. A pair at 224 x 224 takes 0.6-0.7 ms on one
    thread of a 2-core machine, 10-12 times less than :func:`scipy.stats.spearmanr`, and
    0.4-0.5 ms on its two (``benchmarks/clickmaps.py``).

    Examples
    --------
    >>> a = np.array([[1.0, 2, 3, 4], [0, 0, 1, 1]])
    >>> b = np.array([[2.0, 4, 6, 9], [1, 2, 3, 4]])
    >>> spearman_maps(a, b).round(4)
    array([1.    , 0.8944])
    """
    from psychoalign.metrics.clickmaps._ranking import spearman_pairs  # imports numba

    return spearman_pairs(*_paired_rows(a, b))


def _map_rows(maps: np.ndarray, name: str) -> np.ndarray:
    """(n, pixels) view of maps; other numeric types are converted one map at a time."""
    maps = np.asarray(maps)
    if maps.ndim not in (2, 3) or maps.dtype.kind not in "biuf":
        raise ClickMapError(
            f"{name}: maps of shape {maps.shape} and type {maps.dtype} must be numeric maps "
            f"(n, height, width) or (n, pixels)."
        )
    return maps.reshape(len(maps), -1)


def _paired_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, pixels) views of two sets of maps of the same shape."""
    a_rows, b_rows = _map_rows(a, "a"), _map_rows(b, "b")
    if a_rows.shape != b_rows.shape:
        raise ClickMapError(
            f"b: shape {np.shape(b)} must be the shape of a, {np.shape(a)} (one map per map of a)."
        )
    return a_rows, b_rows


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
        Share of pixels taken from each map, in (0, 1]: its :math:`k = \lceil fP \rceil`
        highest.

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
    a_rows, b_rows = _paired_rows(a, b)
    positive_number("fraction", fraction, error=ClickMapError)  # (0, 1]: 0 refused here,
    share("fraction", fraction, closed=True, error=ClickMapError)  # above 1 here
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
        n_participants, ceiling_note`` (empty, or the sentence saying why the ceiling
        is NaN).

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
        raise ClickMapError(
            f"model_maps: shape {model_maps.shape} must be {expected}, one map per image in "
            f"human.images order at the images' size."
        )
    n_splits = whole_number("n_splits", n_splits, 1, error=ClickMapError)
    seed = whole_number("seed", seed, 0, error=ClickMapError)
    ceiling, floor = human._reference(n_splits, seed)
    from psychoalign.metrics.clickmaps._ranking import spearman_ranked  # imports numba

    spearman = spearman_ranked(*human._ranked, _map_rows(model_maps, "model_maps"))
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
            "ceiling_note": [
                "" if np.isfinite(value) else _ceiling_note(count)
                for value, count in zip(ceiling, human.n_participants, strict=True)
            ],
        }
    )


def _ceiling_note(n_participants: int) -> str:
    """Why a ceiling is NaN: the sentence of a per-image or summary ``ceiling_note``."""
    if n_participants < 2:
        return (
            "ceiling not measurable: split halves need at least 2 participants per image; "
            f"{n_participants} here"
        )
    return "ceiling not measurable: the split-half maps do not vary"


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
    "ceiling_note",
]


def alignment_summary(
    per_image: pd.DataFrame,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
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
    confidence
        Coverage of the percentile intervals, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``[model, method,] n_images, spearman, spearman_ci_low,
        spearman_ci_high, ceiling, floor, score, score_ci_low, score_ci_high, dice,
        iou, ceiling_note``; ``ceiling_note`` is empty, or says why the ceiling (and so
        the score) is NaN, naming the most participants of any image when ``per_image``
        has ``n_participants``.

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
        raise ClickMapError(f"per_image: no column {missing[0]!r} (make it with alignment).")
    n_boot = whole_number("n_boot", n_boot, 0, error=ClickMapError)
    seed = whole_number("seed", seed, 0, error=ClickMapError)
    confidence = share("confidence", confidence, error=ClickMapError)
    groups = [name for name in _GROUPS if name in per_image.columns]
    rows = []
    parts = per_image.groupby(groups, sort=False, dropna=False) if groups else [((), per_image)]
    for key, part in parts:
        key = key if isinstance(key, tuple) else (key,)
        rows.append([*key, *_summary_row(part, n_boot, seed, confidence)])
    return pd.DataFrame(rows, columns=[*groups, *_SUMMARY_COLUMNS])


def _finite_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted means over the finite values, per row of weights."""
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ np.where(finite, values, 0.0)) / (weights @ finite)


def _summary_row(part: pd.DataFrame, n_boot: int, seed: int, confidence: float) -> list:
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
            rho_ci = percentile_interval(boot_rho, confidence)
        if np.isfinite(boot_score).any():
            score_ci = percentile_interval(boot_score, confidence)
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
        "" if np.isfinite(mean_ceiling) else _group_note(part),
    ]


def _group_note(part: pd.DataFrame) -> str:
    """The ceiling note of a group whose mean ceiling is NaN."""
    if "n_participants" in part.columns and len(part):
        return _ceiling_note(int(part["n_participants"].max()))
    return "ceiling not measurable: no image has a ceiling"
