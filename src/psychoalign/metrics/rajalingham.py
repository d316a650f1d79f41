"""Rajalingham et al. (2018) behavioural metrics O1, O2, I1(n), I2(n) and their consistency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from psychoalign._checks import whole_number
from psychoalign.errors import TrialDataError
from psychoalign.metrics._stats import masked_pearson
from psychoalign.trials import require_columns

__all__ = ["BEHAVIOURAL_METRICS", "behavioural_consistency", "behavioural_signature"]

#: Metric names accepted by :func:`behavioural_signature` (case-insensitive).
BEHAVIOURAL_METRICS = ("O1", "O2", "I1", "I1n", "I2", "I2n")
DPRIME_LIMIT = 5.0


@dataclass(frozen=True)
class _Task:
    """The items and categories of one group, and every trial coded against them."""

    images: np.ndarray  # item ids (image names)
    item_category: np.ndarray  # category code of each item
    categories: np.ndarray  # category names; response code len(categories) = other/na
    item: np.ndarray  # item code of each trial
    response: np.ndarray  # response code of each trial

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.images), len(self.categories) + 1


def _metric_name(metric: str) -> str:
    for name in BEHAVIOURAL_METRICS:
        if name.lower() == metric.lower():
            return name
    raise TrialDataError(
        f"metric: '{metric}' is not a behavioural metric; choose from "
        f"{', '.join(BEHAVIOURAL_METRICS)}."
    )


def _task(trials: pd.DataFrame) -> _Task:
    """Code items and responses; an image must belong to a single category."""
    categories = np.array(sorted(trials["category"].unique()), dtype=object)
    item_codes, images = pd.factorize(trials["image"], sort=True)
    item_category_frame = trials.groupby("image", sort=True)["category"].agg(["first", "nunique"])
    ambiguous = item_category_frame["nunique"] > 1
    if ambiguous.any():
        image = item_category_frame.index[ambiguous.to_numpy()][0]
        raise TrialDataError(
            f"column 'category': image '{image}' is listed under more than one category; "
            "an image has one true category."
        )
    lookup = {name: code for code, name in enumerate(categories)}
    response = trials["response"].map(lookup).fillna(len(categories)).to_numpy(dtype=int)
    return _Task(
        images=np.asarray(images, dtype=object),
        item_category=item_category_frame["first"].map(lookup).to_numpy(dtype=int),
        categories=categories,
        item=item_codes,
        response=response,
    )


def _counts(
    task: _Task, rows: np.ndarray | None = None, halves: np.ndarray | None = None
) -> np.ndarray:
    """Response counts per item: (items, responses), or (splits, 2, items, responses).

    ``rows`` selects trials; ``halves`` (splits, selected trials) assigns each to half 0/1.
    """
    n_items, n_responses = task.shape
    item = task.item if rows is None else task.item[rows]
    response = task.response if rows is None else task.response[rows]
    cell = item * n_responses + response
    if halves is None:
        return np.bincount(cell, minlength=n_items * n_responses).reshape(n_items, n_responses)
    n_splits = halves.shape[0]
    offset = (np.arange(n_splits)[:, None] * 2 + halves) * (n_items * n_responses)
    flat = np.bincount(
        (offset + cell[None]).ravel(), minlength=n_splits * 2 * n_items * n_responses
    )
    return flat.reshape(n_splits, 2, n_items, n_responses)


def _dprime(hit_rate: np.ndarray, false_alarm_rate: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        dprime = special.ndtri(hit_rate) - special.ndtri(false_alarm_rate)
    return np.clip(dprime, -DPRIME_LIMIT, DPRIME_LIMIT)


def _rates(counts: np.ndarray, task: _Task, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Hit and false-alarm rates of ``metric`` from counts (..., items, responses)."""
    n_categories = len(task.categories)
    one_hot = np.eye(n_categories)[task.item_category]  # (items, categories)
    counts = counts.astype(float)
    per_category = np.einsum("ic,...ik->...ck", one_hot, counts)  # (..., categories, responses)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_item = counts / counts.sum(axis=-1, keepdims=True)
        p_category = per_category / per_category.sum(axis=-1, keepdims=True)
        # P(response = c | images of categories other than c), one value per category c.
        chosen = per_category[..., :n_categories].sum(axis=-2)  # times each c was answered
        own = np.diagonal(per_category[..., :n_categories], axis1=-2, axis2=-1)
        others = per_category.sum(axis=(-2, -1))[..., None] - per_category.sum(axis=-1)
        false_alarm_1 = (chosen - own) / others
    if metric == "O1":
        hit = np.diagonal(p_category[..., :n_categories], axis1=-2, axis2=-1)
        return hit, false_alarm_1
    if metric in ("I1", "I1n"):
        hit = np.take_along_axis(
            p_item, np.broadcast_to(task.item_category[:, None], (*p_item.shape[:-1], 1)), axis=-1
        )[..., 0]
        return hit, false_alarm_1[..., task.item_category]
    distractor_is_target = np.eye(n_categories, dtype=bool)
    if metric == "O2":
        hit = 1 - p_category[..., :n_categories]
        false_alarm = np.swapaxes(p_category[..., :n_categories], -1, -2)
    else:  # I2, I2n: HR(i, j) = 1 - P(j | i), FAR(i, j) = P(c_i | images of j)
        hit = 1 - p_item[..., :n_categories]
        false_alarm = np.swapaxes(p_category[..., task.item_category], -1, -2)
        distractor_is_target = distractor_is_target[task.item_category]
    hit = np.where(distractor_is_target, np.nan, hit)
    return hit, np.where(distractor_is_target, np.nan, false_alarm)


def _normalised(dprime: np.ndarray, task: _Task, metric: str) -> np.ndarray:
    """Subtract the mean over images of the same category (per distractor for I2n)."""
    if not metric.endswith("n"):
        return dprime
    one_hot = np.eye(len(task.categories))[task.item_category]  # (items, categories)
    finite = np.isfinite(dprime)
    values = np.where(finite, dprime, 0.0)
    if metric == "I1n":
        sums = np.einsum("ic,...i->...c", one_hot, values)
        counts = np.einsum("ic,...i->...c", one_hot, finite.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        return dprime - means[..., task.item_category]
    sums = np.einsum("ic,...ij->...cj", one_hot, values)
    counts = np.einsum("ic,...ij->...cj", one_hot, finite.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return dprime - means[..., task.item_category, :]


def _signature(counts: np.ndarray, task: _Task, metric: str) -> np.ndarray:
    hit, false_alarm = _rates(counts, task, metric)
    return _normalised(_dprime(hit, false_alarm), task, metric)


def behavioural_signature(
    trials: pd.DataFrame,
    metric: str = "I2n",
    *,
    by: Sequence[str] = ("experiment", "condition"),
    pool_humans: bool = True,
) -> pd.DataFrame:
    r"""Object- or image-level behavioural signature of each observer (Rajalingham et al. 2018).

    Parameters
    ----------
    trials
        Trial table of an N-way categorisation task.
    metric
        ``"O1"``, ``"O2"``, ``"I1"``, ``"I1n"``, ``"I2"`` or ``"I2n"`` (case-insensitive).
    by
        Columns within which signatures are computed; within a group an item is an
        ``image``, and its category list is the group's ``category`` values.
    pool_humans
        Pool all human observers of a group into one observer, ``"humans"`` (the
        population signature of the paper); otherwise one signature per observer.

    Returns
    -------
    pandas.DataFrame
        One row per entry of the signature: ``*by, observer, observer_kind``, then
        ``image`` (I-metrics), ``category``, ``distractor`` (2-metrics), and
        ``hit_rate, false_alarm_rate, dprime, value`` (``value`` is the normalised
        d' for I1n/I2n and the d' otherwise).

    Notes
    -----
    With :math:`P(k \mid i)` the proportion of trials on image :math:`i` answered
    :math:`k` (``na`` counts in the denominator, never as a category), and
    :math:`P(k \mid c)` the same pooled over the images of category :math:`c`:

    - I1, image :math:`i` of category :math:`c`: HR :math:`= P(c \mid i)`,
      FAR :math:`= P(c \mid` images of other categories :math:`)`;
    - I2, image :math:`i` and distractor :math:`j \ne c`: HR :math:`= 1 - P(j \mid i)`,
      FAR :math:`= P(c \mid j)`;
    - O1 and O2: the same with categories in place of images.

    :math:`d' = \Phi^{-1}(HR) - \Phi^{-1}(FAR)`, clipped to :math:`\pm 5`; it is NaN
    where both rates are 0 or both 1 (undefined) and such entries are left out of
    correlations. "n" subtracts the mean d' over the images of the same category (per
    distractor for I2n), removing the object-level component.

    References
    ----------
    .. [1] Rajalingham, Issa, Bashivan, Kar, Schmidt & DiCarlo (2018). Large-scale,
       high-resolution comparison of the core visual object recognition behavior of
       humans, monkeys, and state-of-the-art deep artificial neural networks.
       Journal of Neuroscience, 38(33), 7255-7269.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> o1 = behavioural_signature(load_model_vs_human("edge"), "O1")
    >>> len(o1), o1.observer.unique().tolist()
    (16, ['humans'])
    """
    name = _metric_name(metric)
    by = list(by)
    require_columns(trials, [*by, "observer", "observer_kind", "image", "category", "response"])
    frame = trials
    if pool_humans:
        frame = trials.assign(
            observer=np.where(trials["observer_kind"] == "human", "humans", trials["observer"])
        )
    tables = []
    for key, group in frame.groupby(by, sort=True) if by else [((), frame)]:
        task = _task(group)
        key = key if isinstance(key, tuple) else (key,)
        for observer, rows in group.groupby("observer", sort=True).indices.items():
            counts = _counts(task, rows)
            hit, false_alarm = _rates(counts, task, name)
            dprime = _dprime(hit, false_alarm)
            table = _tidy(task, name, hit, false_alarm, dprime, _normalised(dprime, task, name))
            table.insert(0, "observer_kind", group["observer_kind"].iloc[rows[0]])
            table.insert(0, "observer", observer)
            for position, (column, value) in enumerate(zip(by, key, strict=True)):
                table.insert(position, column, value)
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _tidy(
    task: _Task,
    metric: str,
    hit: np.ndarray,
    false_alarm: np.ndarray,
    dprime: np.ndarray,
    value: np.ndarray,
) -> pd.DataFrame:
    n_categories = len(task.categories)
    if metric.startswith("I"):
        labels = {"image": task.images, "category": task.categories[task.item_category]}
    else:
        labels = {"category": task.categories}
    if metric[1] == "2":
        rows = len(next(iter(labels.values())))
        labels = {name: np.repeat(values, n_categories) for name, values in labels.items()}
        labels["distractor"] = np.tile(task.categories, rows)
    table = pd.DataFrame(
        {
            **labels,
            "hit_rate": hit.ravel(),
            "false_alarm_rate": false_alarm.ravel(),
            "dprime": dprime.ravel(),
            "value": value.ravel(),
        }
    )
    if "distractor" in table.columns:
        table = table[table["distractor"] != table["category"]].reset_index(drop=True)
    return table


def _trial_halves(item: np.ndarray, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """Random balanced halves of each item's trials: (splits, trials) of 0/1."""
    n_trials = len(item)
    order = np.argsort(item[None, :] + rng.random((n_splits, n_trials)), axis=1)
    sorted_item = item[order]
    first_of_item = np.searchsorted(np.sort(item), sorted_item)
    position = np.arange(n_trials)[None, :] - first_of_item
    # A random offset per item and split decides which half gets the odd trial.
    offset = rng.integers(0, 2, size=(n_splits, item.max() + 1))
    half_sorted = (position + np.take_along_axis(offset, sorted_item, axis=1)) % 2
    halves = np.empty_like(half_sorted)
    np.put_along_axis(halves, order, half_sorted, axis=1)
    return halves


def _subject_halves(subject: np.ndarray, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """Random halves of the subjects, expanded to their trials: (splits, trials) of 0/1."""
    n_subjects = subject.max() + 1
    ranks = np.argsort(rng.random((n_splits, n_subjects)), axis=1)
    return (ranks < n_subjects // 2).astype(int)[:, subject] ^ 1


def behavioural_consistency(
    trials: pd.DataFrame,
    metric: str = "I2n",
    *,
    by: Sequence[str] = ("experiment", "condition"),
    reference: str | Sequence[str] = "human",
    split: str = "trials",
    n_splits: int = 100,
    seed: int | None = 0,
) -> pd.DataFrame:
    r"""Noise-corrected consistency of each observer's behavioural signature with a reference.

    Parameters
    ----------
    trials
        Trial table of an N-way categorisation task.
    metric
        ``"O1"``, ``"O2"``, ``"I1"``, ``"I1n"``, ``"I2"`` or ``"I2n"``.
    by
        Columns within which signatures are compared (see :func:`behavioural_signature`).
    reference
        ``"human"`` (every human observer, pooled), ``"model"``, or a list of observer
        names to pool as the reference. Every other observer is compared with it.
    split
        How the reference is halved: ``"trials"`` (each image's trials split at random
        into two balanced halves) or ``"subjects"`` (the reference observers split in
        two random halves).
    n_splits
        Number of random split halves :math:`S`.
    seed
        Seed of the splits.

    Returns
    -------
    pandas.DataFrame
        One row per compared observer and group: ``*by, observer, observer_kind,
        metric, split, n_splits, n_values, consistency, consistency_sd,
        raw_correlation, reference_reliability, observer_reliability``.
        ``consistency`` is the mean noise-corrected correlation over splits and
        ``consistency_sd`` its spread over splits; ``raw_correlation`` the mean
        uncorrected correlation; ``reference_reliability`` the mean
        :math:`r(h_0, h_1)`; ``observer_reliability`` the same for the observer when it
        is split too (1 for a deterministic observer); ``n_values`` the mean number of
        signature entries compared.

    Notes
    -----
    An observer with one trial per image (a deterministic model) is compared with
    each half of the reference:

    .. math:: \tilde\rho = \frac{1}{S}\sum_s
              \frac{\tfrac12[r(m, h_0) + r(m, h_1)]}{\sqrt{r(h_0, h_1)}}

    (Brain-Score's correction, using both halves). An observer with two or more trials
    on every image is itself split over its trials, and

    .. math:: \tilde\rho = \frac{1}{S}\sum_s
              \frac{\tfrac12[r(a_1, b_0) + r(a_0, b_1)]}{\sqrt{r(a_0, a_1)\,r(b_0, b_1)}}

    (objectome). :math:`r` is Pearson's correlation over the signature entries
    defined in both vectors. A split whose reliabilities are not positive yields NaN
    and is left out of the mean (``n_valid_splits`` counts the splits used).

    References
    ----------
    .. [1] Rajalingham et al. (2018). Journal of Neuroscience, 38(33), 7255-7269.
    .. [2] Schrimpf et al. (2018). Brain-Score: which artificial neural network for
       object recognition is most brain-like? bioRxiv 407007.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> trials = load_model_vs_human("edge")
    >>> table = behavioural_consistency(trials, "O2", reference=["subject-01", "subject-02",
    ...     "subject-03", "subject-04", "subject-05"], split="subjects", n_splits=20)
    >>> table.observer.tolist()[:2]
    ['subject-06', 'subject-07']
    """
    name = _metric_name(metric)
    if split not in ("trials", "subjects"):
        raise TrialDataError(f"split: '{split}' is neither 'trials' nor 'subjects'.")
    whole_number("n_splits", n_splits, minimum=1, error=TrialDataError)
    by = list(by)
    require_columns(trials, [*by, "observer", "observer_kind", "image", "category", "response"])
    rng = np.random.default_rng(seed)
    if isinstance(reference, str) and reference in ("human", "model"):
        in_reference = (trials["observer_kind"] == reference).to_numpy()
    else:
        names = [reference] if isinstance(reference, str) else list(reference)
        in_reference = trials["observer"].isin(names).to_numpy()
    frame = trials.assign(_in_reference=in_reference)
    rows = []
    for key, group in frame.groupby(by, sort=True) if by else [((), frame)]:
        key = key if isinstance(key, tuple) else (key,)
        mask = group["_in_reference"].to_numpy()
        if not mask.any():
            continue
        task = _task(group)
        reference_rows = np.flatnonzero(mask)
        reference_counts = _counts(
            task, reference_rows, _halves(group, task, reference_rows, split, n_splits, rng, key)
        )
        reference_signature = _signature(reference_counts, task, name)
        reference_0, reference_1 = reference_signature[:, 0], reference_signature[:, 1]
        reliability = masked_pearson(_flat(reference_0), _flat(reference_1))
        others = group.iloc[np.flatnonzero(~mask)]
        for observer, positions in others.groupby("observer", sort=True).indices.items():
            observer_rows = np.flatnonzero(~mask)[positions]
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    "observer": observer,
                    "observer_kind": group["observer_kind"].iloc[observer_rows[0]],
                    **_compare(
                        task, name, observer_rows, reference_0, reference_1, reliability, rng
                    ),
                    "metric": name,
                    "split": split,
                    "n_splits": n_splits,
                }
            )
    columns = [
        *by,
        "observer",
        "observer_kind",
        "metric",
        "split",
        "n_splits",
        "n_valid_splits",
        "n_values",
        "consistency",
        "consistency_sd",
        "raw_correlation",
        "reference_reliability",
        "observer_reliability",
    ]
    return pd.DataFrame(rows, columns=columns)


def _flat(signature: np.ndarray) -> np.ndarray:
    """Signatures (splits, *entries) as (splits, entries)."""
    return signature.reshape(signature.shape[0], -1)


def _halves(
    group: pd.DataFrame,
    task: _Task,
    rows: np.ndarray,
    split: str,
    n_splits: int,
    rng: np.random.Generator,
    key: tuple,
) -> np.ndarray:
    if split == "trials":
        return _trial_halves(task.item[rows], n_splits, rng)
    subject_codes, subjects = pd.factorize(group["observer"].to_numpy()[rows])
    if len(subjects) < 2:
        raise TrialDataError(
            f"split: the reference of group {key} has one observer ('{subjects[0]}'); "
            "splitting over subjects needs at least two, use split='trials'."
        )
    return _subject_halves(subject_codes, n_splits, rng)


def _compare(
    task: _Task,
    metric: str,
    rows: np.ndarray,
    reference_0: np.ndarray,
    reference_1: np.ndarray,
    reference_reliability: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, float]:
    n_splits = reference_0.shape[0]
    trials_per_item = np.bincount(task.item[rows], minlength=len(task.images))
    seen = trials_per_item[trials_per_item > 0]
    if seen.min() >= 2:
        signature = _signature(
            _counts(task, rows, _trial_halves(task.item[rows], n_splits, rng)), task, metric
        )
        own_0, own_1 = _flat(signature[:, 0]), _flat(signature[:, 1])
        observer_reliability = masked_pearson(own_0, own_1)
        raw = 0.5 * (
            masked_pearson(own_1, _flat(reference_0)) + masked_pearson(own_0, _flat(reference_1))
        )
        values = np.isfinite(own_1) & np.isfinite(_flat(reference_0))
    else:
        own = _signature(_counts(task, rows), task, metric).ravel()[None, :]
        observer_reliability = np.ones(n_splits)
        raw = 0.5 * (
            masked_pearson(own, _flat(reference_0)) + masked_pearson(own, _flat(reference_1))
        )
        values = np.isfinite(own) & np.isfinite(_flat(reference_0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = raw / np.sqrt(reference_reliability * observer_reliability)
    corrected = np.where(
        (reference_reliability > 0) & (observer_reliability > 0), corrected, np.nan
    )
    valid = np.isfinite(corrected)
    return {
        "n_values": float(values.sum(axis=-1).mean()),
        "n_valid_splits": int(valid.sum()),
        "consistency": float(corrected[valid].mean()) if valid.any() else np.nan,
        "consistency_sd": float(corrected[valid].std(ddof=1)) if valid.sum() > 1 else np.nan,
        "raw_correlation": float(np.nanmean(raw)) if np.isfinite(raw).any() else np.nan,
        "reference_reliability": float(np.nanmean(reference_reliability))
        if np.isfinite(reference_reliability).any()
        else np.nan,
        "observer_reliability": float(np.nanmean(observer_reliability))
        if np.isfinite(observer_reliability).any()
        else np.nan,
    }
