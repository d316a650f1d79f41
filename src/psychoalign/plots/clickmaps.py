"""ClickMe figures: human and model feature-importance maps over their images, and scores."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychoalign.plots._figure import (
    HUMAN_COLOUR,
    PAGE_WIDTH,
    legend_below,
    model_colours,
    new_figure,
    save_figure,
    styled,
)
from psychoalign.trials import require_columns

__all__ = ["clickmap_grid", "clickmap_scores"]


def _normalised(heatmap: np.ndarray) -> np.ndarray:
    """A map scaled to [0, 1] for display (a constant map shows as zeros)."""
    low, high = float(np.nanmin(heatmap)), float(np.nanmax(heatmap))
    return np.zeros_like(heatmap, dtype=float) if high <= low else (heatmap - low) / (high - low)


@styled
def clickmap_grid(
    images: np.ndarray,
    names: Sequence[str],
    human_maps: np.ndarray,
    model_maps: Mapping[str, np.ndarray],
    out: str | os.PathLike[str],
    *,
    per_image: pd.DataFrame | None = None,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Each image beside its human map and every model's map, drawn over it.

    Parameters
    ----------
    images
        The stimuli, (n, height, width, 3), 8-bit or floats in [0, 1].
    names
        The image names (row titles).
    human_maps
        The human maps, (n, height, width).
    model_maps
        Label (e.g. ``"efficientnet_lite0 saliency"``) -> maps (n, height, width).
    out
        Path of the figure without suffix.
    per_image
        Optional output of :func:`psychoalign.metrics.clickmaps.alignment` per label
        (a ``label`` column), whose ``spearman`` is printed over each model map.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``image, map, spearman``: the maps shown and each model map's Spearman ρ with the
        human map (NaN for the human map itself when no ``per_image`` is given).

    Notes
    -----
    Maps are min–max scaled per panel and drawn in the ``inferno`` colour map at 60 %
    opacity over a grey version of the image, as in the ClickMe figures of Linsley et
    al. (2019) and Fel et al. (2022).

    References
    ----------
    .. [1] Linsley, Shiebler, Eberhardt & Serre (2019). Learning what and where to attend.
       ICLR.
    .. [2] Fel, Felipe, Linsley & Serre (2022). Harmonizing the object recognition
       strategies of deep neural networks with humans. NeurIPS.
    """
    images = np.asarray(images, dtype=float)
    images = images / 255.0 if images.max() > 1.0 else images
    labels = list(model_maps)
    columns = 2 + len(labels)
    figure, axes = new_figure(
        len(names) * columns,
        max_columns=columns,
        height=PAGE_WIDTH / columns,
        width=PAGE_WIDTH,
    )
    axes = axes.reshape(len(names), columns)
    scores = {}
    if per_image is not None:
        require_columns(per_image, ["label", "image", "spearman"], "per_image")
        scores = {(r.label, r.image): r.spearman for r in per_image.itertuples(index=False)}
    rows = []
    for i, name in enumerate(names):
        grey = images[i].mean(axis=2)
        panels = [("image", None), ("humans", human_maps[i])]
        panels += [(label, model_maps[label][i]) for label in labels]
        for ax, (title, heatmap) in zip(axes[i], panels, strict=True):
            ax.imshow(images[i] if heatmap is None else grey, cmap="gray", vmin=0, vmax=1)
            rho = float("nan")
            if heatmap is not None:
                ax.imshow(_normalised(heatmap), cmap="inferno", alpha=0.6, vmin=0, vmax=1)
                rho = scores.get((title, name), float("nan")) if title != "humans" else 1.0
            rows.append((name, title, rho))
            ax.set_xticks([])
            ax.set_yticks([])
            heading = title if i == 0 else ""
            if np.isfinite(rho) and title not in ("image", "humans"):
                heading = f"{heading}\nρ = {rho:.2f}" if heading else f"ρ = {rho:.2f}"
            ax.set_title(heading, fontsize=6)
        axes[i, 0].set_ylabel(name, fontsize=6)
    table = pd.DataFrame(rows, columns=["image", "map", "spearman"])
    return save_figure(
        figure,
        table,
        out,
        title="Human and model feature-importance maps",
        caption=(
            "Each row: the image, the human ClickMe map (clicks of all participants, "
            "blurred) and each model's feature-importance map, scaled to [0, 1] and drawn "
            "over the image; ρ: Spearman correlation of the model map with the human map."
        ),
        record=record,
    )


@styled
def clickmap_scores(
    summary: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Human–model map alignment per model and method, with the human ceiling and floor.

    Parameters
    ----------
    summary
        Output of :func:`psychoalign.metrics.clickmaps.alignment_summary`, one row per
        ``model`` (and ``method``), with ``spearman, spearman_ci_low, spearman_ci_high,
        ceiling, floor, score``.
    out
        Path of the figure without suffix.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        The rows plotted, with a ``label`` column (model and method).

    Notes
    -----
    Bars are the mean Spearman ρ between model and human maps over images with its
    bootstrap CI; the vermillion line is the human ceiling (split halves of participants,
    Spearman–Brown corrected) and the dashed grey line the floor (human maps of other
    images). The score printed on each bar is mean ρ / ceiling, or 'ceiling not
    measurable' where the ceiling is NaN (fewer than 2 participants per image); the
    ceiling line is then left out.
    """
    require_columns(
        summary,
        ["spearman", "spearman_ci_low", "spearman_ci_high", "ceiling", "floor", "score"],
        "summary",
    )
    table = summary.copy()
    parts = [c for c in ("model", "method") if c in table.columns]
    table.insert(
        0,
        "label",
        table[parts].astype(str).agg(" ".join, axis=1)
        if parts
        else [f"model {i + 1}" for i in range(len(table))],
    )
    figure, (ax,) = new_figure(1, height=2.4)
    colours = model_colours(table["label"])
    x = np.arange(len(table))
    for position, row in zip(x, table.itertuples(index=False), strict=True):
        error = [[row.spearman - row.spearman_ci_low], [row.spearman_ci_high - row.spearman]]
        ax.bar(position, row.spearman, width=0.7, color=colours[row.label])
        ax.errorbar(position, row.spearman, yerr=error, color="0.2", linewidth=0.8, capsize=2)
        score = f"{row.score:.2f}" if np.isfinite(row.score) else "ceiling not measurable"
        ax.text(position, row.spearman_ci_high + 0.02, score, ha="center", fontsize=5)
    ceiling, floor = float(table["ceiling"].mean()), float(table["floor"].mean())
    if np.isfinite(ceiling):
        ax.axhline(ceiling, color=HUMAN_COLOUR, linewidth=1.0, label="human ceiling")
    ax.axhline(floor, color="0.5", linewidth=0.8, linestyle="--", label="floor (other images)")
    ax.set_xticks(x, table["label"], rotation=30, ha="right")
    ax.set_ylabel("Spearman ρ")
    ax.set_ylim(min(0.0, floor, float(table["spearman_ci_low"].min())) - 0.05, 1.02)
    legend_below(figure, [ax])
    return save_figure(
        figure,
        table,
        out,
        title="Alignment of model and human feature-importance maps",
        caption=(
            "Mean Spearman ρ between model feature-importance maps and human ClickMe maps "
            "over images (95 % bootstrap CI over images); number on each bar: mean ρ / human "
            "ceiling. Vermillion: the human ceiling from split halves of participants "
            "(Spearman–Brown corrected); dashed: the floor, human maps of other images."
        ),
        record=record,
    )
