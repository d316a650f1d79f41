"""Observer x item arrays shared by the metrics: one item per presentation of an image."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psychoalign.trials import require_columns


@dataclass(frozen=True)
class ItemTable:
    """Trials of one group laid out as observers x items.

    An item is an image together with its repeat number, so that an observer who saw an
    image twice is paired with another observer's first and second presentations.
    """

    key: tuple
    observers: np.ndarray
    kinds: np.ndarray
    correct: np.ndarray  # float (observers, items); 0 where the observer lacks the item
    present: np.ndarray  # float (observers, items); 1 where the observer has the item


def group_codes(trials: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Integer code of each row's group of ``by`` (sorted), and the key of every group."""
    if not by:
        return np.zeros(len(trials), dtype=np.int64), [()]
    codes, uniques = zip(*(pd.factorize(trials[column], sort=True) for column in by), strict=True)
    radices = [len(unique) for unique in uniques]
    present, inverse = dense_codes(mixed_radix(codes, radices))
    digits = np.unravel_index(present, radices)
    keys = [
        tuple(unique[digit[i]] for unique, digit in zip(uniques, digits, strict=True))
        for i in range(len(present))
    ]
    return inverse, keys


def mixed_radix(codes: Sequence[np.ndarray], radices: Sequence[int]) -> np.ndarray:
    """One int64 per row combining non-negative integer codes, in lexicographic order."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for code, radix in zip(codes, radices, strict=True):
        key = key * radix + code
    return key


def dense_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of non-negative integer ``codes`` and each row's rank among them."""
    size = int(codes.max(initial=-1)) + 1
    if size > 4 * len(codes) + 1024:
        values, inverse = np.unique(codes, return_inverse=True)
        return values, inverse.reshape(-1)
    seen = np.zeros(size, dtype=bool)
    seen[codes] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[codes]


def repeat_numbers(*codes: np.ndarray) -> np.ndarray:
    """0 for the first row of each combination of integer ``codes``, 1 for the next, ..."""
    key = mixed_radix(codes, [int(code.max(initial=0)) + 1 for code in codes])
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    run_start = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    run_length = np.diff(np.r_[run_start, len(key)])
    repeats = np.empty(len(key), dtype=np.int64)
    repeats[order] = np.arange(len(key)) - np.repeat(run_start, run_length)
    return repeats


def item_tables(trials: pd.DataFrame, by: Sequence[str]) -> Iterator[ItemTable]:
    """Yield one :class:`ItemTable` per group of ``by``, observers sorted by name."""
    by = list(by)
    require_columns(trials, [*by, "observer", "observer_kind", "image", "correct"])
    groups, keys = group_codes(trials, by)
    observer_codes, observer_names = pd.factorize(trials["observer"], sort=True)
    image_codes, _ = pd.factorize(trials["image"], sort=True)
    repeat = repeat_numbers(groups, observer_codes, image_codes)
    item_codes = image_codes * (int(repeat.max(initial=0)) + 1) + repeat
    kinds = np.empty(len(observer_names), dtype=object)
    kinds[observer_codes] = trials["observer_kind"].to_numpy(dtype=object)
    correct = trials["correct"].to_numpy(dtype=float)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(len(keys) + 1))
    for index, key in enumerate(keys):
        rows = order[bounds[index] : bounds[index + 1]]
        observers, observer_rows = dense_codes(observer_codes[rows])
        _, item_columns = dense_codes(item_codes[rows])
        shape = (len(observers), int(item_columns.max(initial=-1)) + 1)
        correct_matrix = np.zeros(shape)
        present = np.zeros(shape)
        correct_matrix[observer_rows, item_columns] = correct[rows]
        present[observer_rows, item_columns] = 1.0
        yield ItemTable(
            key=key,
            observers=np.asarray(observer_names[observers], dtype=object),
            kinds=kinds[observers],
            correct=correct_matrix,
            present=present,
        )
