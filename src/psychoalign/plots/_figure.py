"""Shared look and output of every figure: palette, sizes, and the files written."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from psychoalign._io import atomic_file, write_text_atomic
from psychoalign.errors import TrialDataError
from psychoalign.trials import level_values

# Okabe & Ito (2008) colour-blind-safe palette; humans always in vermillion.
HUMAN_COLOUR = "#D55E00"
MODEL_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
HUMANS = "humans"
COLUMN_WIDTH = 3.5  # inches: one journal column
PAGE_WIDTH = 7.2  # inches: two columns
FORMATS = ("png", "pdf", "svg")
#: The metadata that would put the time of writing into a file, left out per format.
_NO_DATES: dict[str, dict[str, None]] = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}

STYLE = {
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3,
    "savefig.dpi": 300,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}


_Parameters = ParamSpec("_Parameters")
_Result = TypeVar("_Result")


def styled(plot: Callable[_Parameters, _Result]) -> Callable[_Parameters, _Result]:
    """Run a plotting function under the house style.

    Matplotlib fixes a text's size when the text is made, so titles, legends and
    annotations drawn after :func:`new_figure` returned would otherwise take the default
    sizes (12 pt titles, 10 pt legends) instead of :data:`STYLE`'s.
    """

    @functools.wraps(plot)
    def drawn(*args: _Parameters.args, **kwargs: _Parameters.kwargs) -> _Result:
        with mpl.rc_context(STYLE):
            return plot(*args, **kwargs)

    return drawn


def new_figure(
    n_panels: int, *, height: float = 2.2, max_columns: int = 3, width: float | None = None
) -> tuple[Figure, np.ndarray]:
    """A figure of ``n_panels`` axes at journal column width (one panel) or page width."""
    columns = min(n_panels, max_columns)
    rows = int(np.ceil(n_panels / columns))
    width = width or (COLUMN_WIDTH if columns == 1 else PAGE_WIDTH)
    with mpl.rc_context(STYLE):
        figure = Figure(figsize=(width, height * rows), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False)
    for extra in axes.ravel()[n_panels:]:
        extra.set_visible(False)
    return figure, axes.ravel()[:n_panels]


def legend_below(figure: Figure, axes: Iterable[Any]) -> None:
    """One legend for the whole figure, under the panels, never over the data."""
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    if labels:
        columns = 1 if max(len(label) for label in labels) > 30 else min(len(labels), 3)
        figure.legend(
            [handles[label] for label in labels],
            labels,
            loc="outside lower center",
            ncols=columns,
            frameon=False,
        )


def model_colours(names: Iterable[str]) -> dict[str, str]:
    """A colour per model name, stable in sorted order."""
    return {
        name: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, name in enumerate(sorted(set(names)))
    }


def _natural_key(label: str) -> tuple:
    """Sort key reading digit runs as numbers: '2-10-10' before '16-10-10'."""
    parts = [part for part in re.split(r"(\d+\.?\d*)", label) if part]
    return tuple((0, float(p), "") if p[0].isdigit() else (1, 0.0, p) for p in parts)


def ordered_levels(conditions: Iterable[str]) -> list[str]:
    """Condition labels in numeric order (natural order for labels such as ``1-10-10``).

    Labels with no number at all (``cr``/``bw``) keep their order of appearance.
    """
    labels = list(dict.fromkeys(conditions))
    try:
        values = level_values(labels)
    except TrialDataError:
        if not all(any(ch.isdigit() for ch in label) for label in labels):
            return labels
        return sorted(labels, key=_natural_key)
    pairs = sorted(zip(values, labels, strict=True), key=lambda pair: pair[0])
    return [label for _, label in pairs]


def save_figure(
    figure: Figure,
    table: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    title: str,
    caption: str,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Write the figure as PNG, PDF and SVG, the table behind it as CSV, and a JSON sidecar.

    ``out`` is the path without suffix (a suffix given is replaced). The sidecar holds the
    title, caption, the files written, the CSV's columns and ``record`` (provenance).
    """
    stem = Path(out)
    stem = stem.with_suffix("") if stem.suffix in (".png", ".pdf", ".svg", ".csv") else stem
    # A fixed hash salt and no dates: the same figure is the same bytes on every run.
    with mpl.rc_context({**STYLE, "svg.hashsalt": stem.name}):
        for kind in FORMATS:
            with atomic_file(stem.with_name(f"{stem.name}.{kind}"), "wb") as handle:
                figure.savefig(handle, format=kind, metadata=_NO_DATES.get(kind))
    write_text_atomic(stem.with_name(f"{stem.name}.csv"), table.to_csv(index=False))
    width, height = figure.get_size_inches()
    sidecar = {
        "title": title,
        "size_inches": [round(float(width), 2), round(float(height), 2)],
        "caption": caption,
        "files": [f"{stem.name}.{kind}" for kind in (*FORMATS, "csv")],
        "columns": list(table.columns),
        **dict(record or {}),
    }
    write_text_atomic(
        stem.with_name(f"{stem.name}.json"), json.dumps(sidecar, indent=2, default=str) + "\n"
    )
    return table


def matched_overall(benchmark: pd.DataFrame, scores: list[str]) -> tuple[pd.DataFrame, str]:
    """The ``all`` rows of a benchmark, averaged over the datasets every model was scored on.

    A benchmark's ``all`` row averages each observer over its own datasets, so humans run
    on 17 datasets and a model run on one would be set side by side on different data.
    When the models' datasets are not every dataset, each observer's mean is recomputed
    from its per-dataset rows over the datasets all models share.

    Parameters
    ----------
    benchmark
        Output of :func:`psychoalign.metrics.benchmark`.
    scores
        The score columns to average (a dataset counts where all are defined).

    Returns
    -------
    tuple of pandas.DataFrame and str
        The rows to show, and the panel title: ``all datasets`` when the stored rows
        already compare like with like, the datasets used when the means were
        recomputed, or a ``NOT MATCHED`` warning when the models share no dataset.
    """
    overall = benchmark[benchmark["experiment"] == "all"]
    complete = benchmark[benchmark["experiment"] != "all"].dropna(subset=scores)
    models = complete[complete["observer_kind"] == "model"]
    if models.empty:
        return overall, "all datasets"
    datasets = set(complete["experiment"])
    shared = set.intersection(*(set(e) for _, e in models.groupby("observer")["experiment"]))
    if shared == datasets:
        return overall, "all datasets"
    if not shared:
        return overall, (
            f"NOT MATCHED: humans on {len(datasets)} datasets, the models on different ones"
        )
    means = (
        complete[complete["experiment"].isin(shared)]
        .groupby(["observer", "observer_kind"], sort=True)[scores]
        .mean()
        .reset_index()
    )
    means.insert(2, "experiment", "all")
    names = ", ".join(sorted(shared))
    return means, f"the {len(shared)} of {len(datasets)} datasets the models were run on: {names}"
