"""Observer x item arrays shared by the metrics: one item per presentation of an image."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psychoalign.trials import TrialDataError


@dataclass(frozen=True)
class ItemTable:
    """Trials of one group laid out as observers x items.

    An item is an image together with its repeat number, so that an observer who saw an
    image twice is paired with another observer's first and second presentations.
    """

    key: tuple
    observers: np.ndarray
    kinds: np.ndarray
    items: pd.MultiIndex
    correct: np.ndarray  # float (observers, items); 0 where the observer lacks the item
    present: np.ndarray  # float (observers, items); 1 where the observer has the item


def check_columns(trials: pd.DataFrame, columns: Sequence[str], parameter: str = "by") -> None:
    """Fail with one sentence when ``columns`` are not all in the trial table."""
    missing = [c for c in columns if c not in trials.columns]
    if missing:
        raise TrialDataError(
            f"{parameter}: column '{missing[0]}' is not in the trial table (it has "
            f"{', '.join(trials.columns)})."
        )


def item_tables(trials: pd.DataFrame, by: Sequence[str]) -> Iterator[ItemTable]:
    """Yield one :class:`ItemTable` per group of ``by``, observers sorted by name."""
    by = list(by)
    check_columns(trials, [*by, "observer", "observer_kind", "image", "correct"])
    repeat = trials.groupby([*by, "observer", "image"], sort=False).cumcount()
    frame = trials.assign(_repeat=repeat.to_numpy())
    groups = frame.groupby(by, sort=True) if by else [((), frame)]
    for key, group in groups:
        observer_codes, observers = pd.factorize(group["observer"], sort=True)
        items = pd.MultiIndex.from_arrays([group["image"], group["_repeat"]])
        item_codes, unique_items = pd.factorize(items, sort=True)
        shape = (len(observers), len(unique_items))
        correct = np.zeros(shape)
        present = np.zeros(shape)
        correct[observer_codes, item_codes] = group["correct"].to_numpy(dtype=float)
        present[observer_codes, item_codes] = 1.0
        kinds = (group.drop_duplicates("observer").set_index("observer")["observer_kind"]).reindex(
            observers
        )
        yield ItemTable(
            key=key if isinstance(key, tuple) else (key,),
            observers=np.asarray(observers, dtype=object),
            kinds=kinds.to_numpy(dtype=object),
            items=unique_items.set_names(["image", "repeat"]),
            correct=correct,
            present=present,
        )
