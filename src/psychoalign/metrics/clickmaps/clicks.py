"""ClickMe clicks: the ``clicks`` JSON column of a trial table, one row per click, checked.

Participants click the image parts that matter for recognition (Linsley et al. 2019).
The ClickMe task stores each trial's clicks as JSON in the trial file; :func:`click_table`
turns them into a table of clicks, and every refusal names the table, the row (with its
observer and image) and the column at fault.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import Any

import numpy as np
import pandas as pd

from psychoalign.errors import ClickMapError
from psychoalign.trials.schema import _ROW, _SOURCE

__all__ = ["click_table"]

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
# Columns that also name a row in messages, when the table has them: before the image
# (trial tables) and after it (click tables).
_NAMING_COLUMNS = (("session", "trial"), ("click",))
#: Columns of a click table that :func:`psychoalign.metrics.clickmaps.build_maps` needs.
MAP_COLUMNS = ("observer", "image", "category", "row", "col", "image_height", "image_width")


def click_table(
    trials: pd.DataFrame, *, source: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """One row per click, from the ``clicks`` JSON column of a ClickMe trial table.

    Parameters
    ----------
    trials
        One row per image shown, with columns ``observer, image, category,
        image_height, image_width`` and ``clicks``: a JSON list of click objects
        ``{"row": int, "col": int, "t": float, ...}`` with pixel coordinates in the
        stimulus image (0-based, row down) and the time in seconds. A missing or empty
        ``clicks`` value means no clicks. Other columns and click fields are ignored.
    source
        Name of the table in messages, such as the file it was read from (default:
        ``trials``). A table read with ``read_trials(..., keep_location=True)`` names
        each row's own file and row instead.

    Returns
    -------
    pandas.DataFrame
        One row per click, in trial order: ``observer, image, category, row, col, t,
        click, image_height, image_width`` where ``click`` is the 1-based order of the
        click within its trial.

    Raises
    ------
    psychoalign.errors.ClickMapError
        Naming the table (or the file), the row (its index label or row in the file,
        observer, session and trial where the table has them, and image) and the column
        of the first bad value: invalid JSON, a click that is not an object with
        whole-number ``row`` and ``col`` and a finite, non-negative ``t``, a click
        outside the image, or an image size that is not a positive whole number.

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
    name = "trials" if source is None else str(source)
    missing = [column for column in _TRIAL_COLUMNS if column not in trials.columns]
    if missing:
        raise ClickMapError(
            f"{name}: the table has no column {missing[0]!r} (it has: "
            f"{', '.join(map(str, trials.columns))})."
        )
    parts: dict[str, list] = {column: [] for column in CLICK_COLUMNS}
    columns = [trials[column].tolist() for column in _TRIAL_COLUMNS]
    for position, (observer, image, category, height, width, raw) in enumerate(
        zip(*columns, strict=True)
    ):
        where = _RowName(name, trials, position)
        height = _pixel_count(height, where, "image_height")
        width = _pixel_count(width, where, "image_width")
        clicks = _parse_clicks(raw, where, height, width)
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
    series = {name: pd.Series(part, dtype=dtypes.get(name, "str")) for name, part in parts.items()}
    return pd.DataFrame(series)


class _RowName:
    """Names row ``position`` of a table in messages, built only when a message needs it.

    ``trials: row 3 (observer 's1', session 1, trial 4, image 'cat.png')``: the index
    label, then the columns that identify the row (the index of trials read from
    several files is only a position; observer, session and trial find the row in its
    file). A table read with its locations (the hidden ``_source`` and ``_row``
    columns of :func:`psychoalign.trials.read_trials`) names the file and its row
    instead: ``sub-1_ses-1.csv: row 5 (observer ...)``. A click table's rows also name
    their ``click``.
    """

    def __init__(self, table_name: str, table: pd.DataFrame, position: int) -> None:
        self._table_name, self._table, self._position = table_name, table, position

    def __str__(self) -> str:
        row = self._table.iloc[self._position]
        before, after = (
            [f"{column} {_python(row[column])}" for column in names if column in row.index]
            for names in _NAMING_COLUMNS
        )
        details = [f"observer {str(row['observer'])!r}", *before, f"image {str(row['image'])!r}"]
        details += after
        if _SOURCE in row.index and _ROW in row.index:
            return f"{row[_SOURCE]}: row {_python(row[_ROW])} ({', '.join(details)})"
        label = self._table.index[self._position]
        return f"{self._table_name}: row {label} ({', '.join(details)})"


def _python(value: Any) -> Any:
    """A cell as a Python value, so that messages show ``3``, not ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def _is_whole_valued(value: object) -> bool:
    """An integer, or a float with an integer value (JSON writers may write ``3.0``)."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, numbers.Real) and float(value).is_integer()


def _pixel_count(value: object, where: _RowName, column: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        whole = False
    else:
        whole = bool(np.isfinite(value)) and float(value).is_integer() and value > 0
    if not whole:
        raise ClickMapError(
            f"{where}: column {column!r} has {value!r}, which is not a positive whole "
            f"number of pixels."
        )
    return int(value)


def _parse_clicks(
    raw: object, where: _RowName, height: int, width: int
) -> list[tuple[int, int, float]]:
    """The (row, col, t) of each click in one trial's ``clicks`` value."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return []
    if not isinstance(raw, str):
        raise ClickMapError(f"{where}: column 'clicks' has {raw!r}, which is not JSON text.")
    if not raw.strip():
        return []
    try:
        clicks = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ClickMapError(
            f"{where}: column 'clicks' is not valid JSON ({error.msg} at character {error.pos})."
        ) from None
    if not isinstance(clicks, list):
        raise ClickMapError(
            f"{where}: column 'clicks' holds a JSON {type(clicks).__name__}, not a list "
            f"of click objects."
        )
    return [
        _parse_click(click, f"{where}: column 'clicks' has click {number}", height, width)
        for number, click in enumerate(clicks, start=1)
    ]


def _parse_click(click: object, where: str, height: int, width: int) -> tuple[int, int, float]:
    """One click object as (row, col, t), inside a ``height x width`` image."""
    if not isinstance(click, dict) or not {"row", "col", "t"} <= click.keys():
        raise ClickMapError(
            f"{where} = {click!r}, which is not an object with 'row', 'col' and 't'."
        )
    row, col, t = click["row"], click["col"], click["t"]
    for name, value in (("row", row), ("col", col)):
        if not _is_whole_valued(value):
            raise ClickMapError(f"{where} with {name} {value!r}, which is not a pixel index.")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
        raise ClickMapError(
            f"{where} with t {t!r}, which is not a time in seconds (a number of at least 0)."
        )
    if not (0 <= row < height and 0 <= col < width):
        raise ClickMapError(
            f"{where} at row {row}, col {col}, outside the {height} x {width} image."
        )
    return int(row), int(col), float(t)


def _checked_clicks(clicks: pd.DataFrame, name: str = "clicks") -> pd.DataFrame:
    """The columns of a click table that make maps, as whole pixels inside their images.

    Parameters
    ----------
    clicks
        A click table (:func:`click_table`, or made by hand).
    name
        Name of the table in messages.

    Returns
    -------
    pandas.DataFrame
        A copy of :data:`MAP_COLUMNS`: ``observer`` and ``image`` as text, pixel columns
        as int64.

    Raises
    ------
    psychoalign.errors.ClickMapError
        A column is missing, or the first row whose pixel value is not a whole number
        (sizes: at least 1) or whose click lies outside its image.
    """
    missing = [column for column in MAP_COLUMNS if column not in clicks.columns]
    if missing:
        raise ClickMapError(
            f"{name}: the click table has no column {missing[0]!r} (make it with click_table)."
        )
    table = clicks[list(MAP_COLUMNS)].copy()
    for column in ("row", "col", "image_height", "image_width"):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values != np.round(values))
        if column.startswith("image"):
            bad |= values < 1
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise ClickMapError(
                f"{_RowName(name, clicks, position)}: column {column!r} has "
                f"{_python(table[column].iloc[position])!r}, which is not a whole number of pixels."
            )
        table[column] = values.astype(np.int64)
    outside = (
        (table["row"] < 0)
        | (table["row"] >= table["image_height"])
        | (table["col"] < 0)
        | (table["col"] >= table["image_width"])
    ).to_numpy()
    if outside.any():
        position = int(np.flatnonzero(outside)[0])
        row = table.iloc[position]
        raise ClickMapError(
            f"{_RowName(name, clicks, position)}: columns 'row', 'col' have {row['row']}, "
            f"{row['col']}, outside the {row['image_height']} x {row['image_width']} image."
        )
    table["observer"] = table["observer"].astype(str)
    table["image"] = table["image"].astype(str)
    return table


def _one_per_image(table: pd.DataFrame, column: str, name: str = "clicks") -> pd.Series:
    """The one value of ``column`` per image (index: image, sorted).

    Raises :class:`~psychoalign.errors.ClickMapError` naming the first image with two.
    """
    values = table.groupby("image")[column]
    counts = values.nunique()
    if (counts > 1).any():
        image = counts.index[counts > 1][0]
        found = sorted(map(str, table.loc[table["image"] == image, column].unique()))
        raise ClickMapError(
            f"{name}: image {image!r} has {column} {' and '.join(found)} in different rows; "
            f"an image has one {column}."
        )
    return values.first()
