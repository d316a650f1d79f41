"""Confusion matrices, the benchmark table, and shape bias by category."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.plots._figure import (
    HUMAN_COLOUR,
    HUMANS,
    PAGE_WIDTH,
    legend_below,
    matched_overall,
    model_colours,
    new_figure,
    save_figure,
    styled,
)
from psychoalign.trials import require_columns

__all__ = ["benchmark_table", "confusion_matrices", "shape_bias_by_category"]


def _confusion(trials: pd.DataFrame, categories: Sequence[str]) -> np.ndarray:
    """P(response | category), rows over all trials of the category (``na`` included)."""
    counts = pd.crosstab(trials["category"], trials["response"]).reindex(
        index=categories, columns=categories, fill_value=0
    )
    totals = trials.groupby("category").size().reindex(categories).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts.to_numpy(float) / totals[:, None]


@styled
def confusion_matrices(
    trials: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    experiment: str,
    model: str,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Human (pooled) and model confusion matrices side by side, with their correlation.

    Parameters
    ----------
    trials
        Trial table with the experiment's human observers and the model.
    out
        Path of the figure without suffix.
    experiment
        The experiment to show.
    model
        The model observer to show.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``observer, category, response, proportion`` (``observer`` is ``humans`` for the
        pooled human matrix); rows are P(response | category), ``na`` answers count in
        the denominator. The Pearson correlation of the two matrices (all cells, and
        off-diagonal cells only) is in the figure title and the JSON sidecar.
    """
    require_columns(
        trials, ["experiment", "observer", "observer_kind", "category", "response"], "trials"
    )
    data = trials[trials["experiment"] == experiment]
    humans = data[data["observer_kind"] == "human"]
    machine = data[data["observer"] == model]
    if humans.empty or machine.empty:
        raise TrialDataError(
            f"experiment '{experiment}' has {len(humans)} human and {len(machine)} '{model}' "
            "trials; a confusion comparison needs both."
        )
    categories = sorted(data["category"].unique())
    matrices = {HUMANS: _confusion(humans, categories), model: _confusion(machine, categories)}
    off = ~np.eye(len(categories), dtype=bool)
    r_all = float(np.corrcoef(matrices[HUMANS].ravel(), matrices[model].ravel())[0, 1])
    r_off = float(np.corrcoef(matrices[HUMANS][off], matrices[model][off])[0, 1])
    figure, axes = new_figure(2, height=3.3)
    for ax, (name, matrix) in zip(axes, matrices.items(), strict=True):
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(categories)), categories, rotation=90)
        ax.set_yticks(range(len(categories)), categories)
        ax.set_xlabel("Response")
        ax.set_ylabel("Category shown")
        ax.set_title(f"{name} ({experiment})", color=HUMAN_COLOUR if name == HUMANS else "black")
    figure.colorbar(image, ax=list(axes), shrink=0.7, label="P(response | category)")
    figure.suptitle(f"r = {r_all:.2f} (all cells), {r_off:.2f} (errors only)", fontsize=7)
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "observer": name,
                    "category": np.repeat(categories, len(categories)),
                    "response": np.tile(categories, len(categories)),
                    "proportion": matrix.ravel(),
                }
            )
            for name, matrix in matrices.items()
        ],
        ignore_index=True,
    )
    return save_figure(
        figure,
        table,
        out,
        title=f"Confusion matrices: humans and {model} on {experiment}",
        caption=(
            "Proportion of trials of each shown category answered with each category (rows; "
            "'na' answers count in the denominator). Left: all human observers pooled; right: "
            f"the model. Pearson r between the matrices: {r_all:.3f} over all cells, "
            f"{r_off:.3f} over the off-diagonal (error) cells."
        ),
        record={**dict(record or {}), "correlation_all_cells": r_all, "correlation_errors": r_off},
    )


@styled
def benchmark_table(
    benchmark: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    experiment: str = "all",
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The benchmark table as a figure, observers ranked by error consistency.

    Parameters
    ----------
    benchmark
        Output of :func:`psychoalign.metrics.benchmark`.
    out
        Path of the figure without suffix.
    experiment
        ``all`` (mean over datasets; only over the datasets every model was run on,
        named in the title, when these are not all) or one dataset.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        The rows shown: ``rank, observer, observer_kind, accuracy, accuracy_difference,
        observed_consistency, error_consistency``.
    """
    columns = ["accuracy", "accuracy_difference", "observed_consistency", "error_consistency"]
    require_columns(benchmark, ["observer", "observer_kind", "experiment", *columns], "benchmark")
    rows, scope = (
        matched_overall(benchmark, columns)
        if experiment == "all"
        else (benchmark[benchmark["experiment"] == experiment], experiment)
    )
    models = rows[rows["observer_kind"] == "model"].sort_values(
        "error_consistency", ascending=False
    )
    humans = rows[rows["observer_kind"] == "human"]
    human_mean = (
        pd.DataFrame(
            [
                {
                    "observer": f"humans (mean of {len(humans)})",
                    "observer_kind": "human",
                    **humans[columns].mean(),
                }
            ]
        )
        if len(humans)
        else pd.DataFrame()
    )
    table = pd.concat(
        [models[["observer", "observer_kind", *columns]], human_mean], ignore_index=True
    )
    table.insert(0, "rank", range(1, len(table) + 1))
    figure, (ax,) = new_figure(1, height=0.35 + 0.2 * max(len(table), 1), width=PAGE_WIDTH)
    ax.axis("off")
    ax.set_title(scope)
    headers = ["#", "observer", "accuracy", "acc. diff.", "obs. consist.", "error consist. (κ)"]
    cells = [
        [
            str(r.rank),
            r.observer,
            *(f"{getattr(r, c):.3f}" if pd.notna(getattr(r, c)) else "–" for c in columns),
        ]
        for r in table.itertuples(index=False)
    ]
    drawn = ax.table(
        cellText=cells or [[""] * len(headers)],
        colLabels=headers,
        colWidths=[0.05, 0.39, 0.14, 0.14, 0.14, 0.14],
        loc="center",
        cellLoc="center",
    )
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(6)
    for (row, _), cell in drawn.get_celld().items():
        cell.set_linewidth(0.3)
        if row > 0 and row <= len(table) and table["observer_kind"].iloc[row - 1] == "human":
            cell.set_text_props(color=HUMAN_COLOUR)
    return save_figure(
        figure,
        table,
        out,
        title="Benchmark table",
        caption=(
            "Model-vs-human benchmark scores "
            + (f"(mean over {scope}). " if experiment == "all" else f"({experiment}). ")
            + "Accuracy: out-of-distribution accuracy; acc. diff.: mean squared accuracy "
            "difference to each human; consistencies against each human. Last row: the human "
            "observers against each other, the ceiling."
        ),
        record=record,
    )


@styled
def shape_bias_by_category(
    shape_bias: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Fraction of shape decisions per category, humans and models (Geirhos et al. 2019 style).

    Parameters
    ----------
    shape_bias
        Output of :func:`psychoalign.metrics.shape_bias` with ``per_category=True``.
    out
        Path of the figure without suffix.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``series, kind, category, shape_bias, low, high`` (humans: mean over observers
        and their range) plus one ``category == "all"`` row per series.

    References
    ----------
    .. [1] Geirhos et al. (2019). ImageNet-trained CNNs are biased towards texture;
       increasing shape bias improves accuracy and robustness. ICLR (Fig. 4).
    """
    require_columns(
        shape_bias,
        ["observer", "observer_kind", "category", "n_shape", "n_texture", "shape_bias"],
        "shape_bias",
    )
    rows = []
    humans = shape_bias[shape_bias["observer_kind"] == "human"]
    for category, values in humans.groupby("category")["shape_bias"]:
        rows.append((HUMANS, "human", category, values.mean(), values.min(), values.max()))
    if len(humans):
        overall = humans.groupby("observer")[["n_shape", "n_texture"]].sum()
        per_observer = overall["n_shape"] / (overall["n_shape"] + overall["n_texture"])
        rows.append(
            (HUMANS, "human", "all", per_observer.mean(), per_observer.min(), per_observer.max())
        )
    for observer, data in shape_bias[shape_bias["observer_kind"] == "model"].groupby("observer"):
        for row in data.itertuples(index=False):
            rows.append((observer, "model", row.category, row.shape_bias, np.nan, np.nan))
        total = data["n_shape"].sum() / (data["n_shape"].sum() + data["n_texture"].sum())
        rows.append((observer, "model", "all", total, np.nan, np.nan))
    table = pd.DataFrame(rows, columns=["series", "kind", "category", "shape_bias", "low", "high"])
    categories = sorted(c for c in table["category"].unique() if c != "all")
    figure, (ax,) = new_figure(1, height=3.0)
    y = {category: i for i, category in enumerate(categories)}
    colours = model_colours(table.loc[table["kind"] == "model", "series"])
    for series, data in table.groupby("series", sort=True):
        colour = HUMAN_COLOUR if series == HUMANS else colours[series]
        marker = "o" if series == HUMANS else "s"
        points = data[data["category"] != "all"]
        ax.scatter(
            points["shape_bias"],
            points["category"].map(y),
            color=colour,
            marker=marker,
            s=14,
            label=series,
        )
        if series == HUMANS:
            ax.hlines(
                points["category"].map(y),
                points["low"],
                points["high"],
                color=colour,
                linewidth=0.6,
            )
        ax.axvline(
            float(data.loc[data["category"] == "all", "shape_bias"].iloc[0]),
            color=colour,
            linewidth=0.8,
            linestyle="--",
        )
    ax.set_yticks(range(len(categories)), categories)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Fraction of shape decisions (1 = shape, 0 = texture)")
    ax.invert_yaxis()
    legend_below(figure, [ax])
    return save_figure(
        figure,
        table,
        out,
        title="Shape bias by category",
        caption=(
            "Cue-conflict trials whose shape and texture categories differ: fraction of "
            "shape decisions among shape-or-texture decisions, per shape category. Humans: "
            "mean over observers (dot) and range (line); dashed: each series' overall shape bias."
        ),
        record=record,
    )
