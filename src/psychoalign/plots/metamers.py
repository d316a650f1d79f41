"""Metamer recognisability: accuracy per layer for humans and model observers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychoalign.errors import ParameterError
from psychoalign.plots._figure import (
    HUMAN_COLOUR,
    HUMANS,
    legend_below,
    model_colours,
    new_figure,
    save_figure,
    styled,
)
from psychoalign.trials import require_columns

__all__ = ["metamer_grid", "metamer_recognisability_plot"]

_DODGE = 0.08  # x offset between model observers, in layer positions


@styled
def metamer_recognisability_plot(
    table: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    chance: float | None = 1 / 16,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Accuracy on natural images and on each layer's metamers, one panel per metamer model.

    Parameters
    ----------
    table
        Output of :func:`psychoalign.metrics.metamer_recognisability`.
    out
        Path of the figure without suffix.
    chance
        Chance accuracy, drawn dashed (1/16 for the 16-way task).
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        The table plotted (``table`` as given).

    Notes
    -----
    Humans (vermillion) are the mean over participants with a bootstrap interval over
    participants (shaded); each model observer is a line with Wilson intervals, the
    observers slightly apart along x so that equal accuracies stay visible. The x axis
    runs from the natural images through the layers, early to late, as in Feather et al.
    (2023), Fig. 2.

    References
    ----------
    .. [1] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
       invariances between biological and artificial neural networks. Nature
       Neuroscience, 26, 2017-2034.
    """
    require_columns(
        table,
        ["metamer_model", "condition", "position", "group", "accuracy", "ci_low", "ci_high"],
        "table",
    )
    models = sorted(table["metamer_model"].unique())
    figure, axes = new_figure(len(models), height=2.3)
    colours = model_colours(g for g in table["group"] if g != HUMANS)
    for ax, model in zip(axes, models, strict=True):
        data = table[table["metamer_model"] == model]
        labels = data.drop_duplicates("position").sort_values("position")
        observers = sorted(set(data["group"]) - {HUMANS})
        for group, rows in data.groupby("group"):
            rows = rows.sort_values("position")
            x = rows["position"].to_numpy(dtype=float)
            if group == HUMANS:
                ax.fill_between(x, rows["ci_low"], rows["ci_high"], color=HUMAN_COLOUR, alpha=0.2)
                ax.plot(x, rows["accuracy"], "o-", color=HUMAN_COLOUR, label=HUMANS)
            else:
                # side by side, so that observers with equal accuracies stay visible
                x += _DODGE * (observers.index(group) - (len(observers) - 1) / 2)
                error = [rows["accuracy"] - rows["ci_low"], rows["ci_high"] - rows["accuracy"]]
                ax.errorbar(
                    x,
                    rows["accuracy"],
                    yerr=np.asarray(error),
                    fmt="s-",
                    color=colours[group],
                    capsize=1.5,
                    label=str(group),
                )
        if chance is not None:
            ax.axhline(chance, color="0.5", linestyle="--", linewidth=0.6, label="chance")
        ax.set_xticks(labels["position"], labels["condition"], rotation=30, ha="right")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Metamers of {model}")
        ax.set_ylabel("Proportion correct")
    legend_below(figure, axes)
    return save_figure(
        figure,
        table,
        out,
        title="Recognisability of model metamers",
        caption=(
            "Proportion correct (16-way) on natural images and on metamers matched at each "
            "layer. Vermillion: humans, mean over participants with a 95 % bootstrap "
            "interval over participants; other lines: model observers with Wilson "
            "intervals; dashed: chance."
        ),
        record=record,
    )


@styled
def metamer_grid(
    stimuli: Any,
    out: str | os.PathLike[str],
    *,
    natural: str = "natural",
    valid: pd.Series | None = None,
    max_images: int = 8,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Each natural image beside its metamers, one column per layer (early to late).

    Parameters
    ----------
    stimuli
        A metamer stimulus set (:class:`psychoalign.stimuli.StimulusSet`) whose manifest
        has ``condition`` = ``natural`` or a layer name.
    out
        Path of the figure without suffix.
    natural
        The condition label of the natural images.
    valid
        Whether each manifest row passed validation, aligned with the manifest:
        ``psychoalign.stimuli.valid_metamers(stimuli.manifest)``. Required when the
        manifest has a ``valid`` column, so that failed metamers are always marked;
        otherwise every stimulus counts as valid.
    max_images
        Rows shown at most (the first natural images of the manifest).
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``image, condition, stimulus, valid``: the stimuli shown; failed metamers are
        framed in grey and marked "failed".
    """
    manifest = stimuli.manifest
    require_columns(manifest, ["stimulus", "image", "condition"], "manifest")
    if valid is None and "valid" in manifest.columns:
        raise ParameterError(
            "valid: the manifest flags failed metamers; pass "
            "valid=psychoalign.stimuli.valid_metamers(stimuli.manifest) so the grid marks them."
        )
    manifest = manifest.assign(_valid=True if valid is None else np.asarray(valid, dtype=bool))
    conditions = list(dict.fromkeys(manifest["condition"]))
    layers = [c for c in conditions if c != natural]
    columns = [natural, *layers] if natural in conditions else layers
    images = list(dict.fromkeys(manifest["image"]))[:max_images]
    figure, axes = new_figure(
        len(images) * len(columns), max_columns=len(columns), height=7.2 / len(columns)
    )
    axes = axes.reshape(len(images), len(columns))
    by_key = manifest.set_index(["image", "condition"])
    rows = []
    for i, image in enumerate(images):
        for j, condition in enumerate(columns):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(condition, fontsize=6)
            if (image, condition) not in by_key.index:
                ax.set_visible(False)
                continue
            entry = by_key.loc[(image, condition)]
            entry = entry.iloc[0] if isinstance(entry, pd.DataFrame) else entry
            passed = bool(entry["_valid"])
            ax.imshow(stimuli.load(entry["stimulus"]))
            if not passed:
                ax.set_xlabel("failed", fontsize=5, color="0.4")
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_color("0.6")
            rows.append((image, condition, entry["stimulus"], passed))
        axes[i, 0].set_ylabel(image, fontsize=5)
    table = pd.DataFrame(rows, columns=["image", "condition", "stimulus", "valid"])
    return save_figure(
        figure,
        table,
        out,
        title="Natural images and their model metamers",
        caption=(
            "Each row: a natural image and the metamers synthesised to match its "
            "activations at each layer, early to late; 'failed': the metamer did not pass "
            "validation (same decision and activation match above the null)."
        ),
        record=record,
    )
