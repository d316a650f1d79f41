"""Published metamer recognisability (Feather et al. 2023): humans and models per layer."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychoalign.plots._figure import (
    HUMAN_COLOUR,
    MODEL_COLOURS,
    legend_below,
    new_figure,
    save_figure,
    styled,
)
from psychoalign.trials import require_columns

__all__ = ["published_recognisability_plot"]

#: SVG id of the group holding one panel's intervals of one observer group:
#: ``INTERVAL_GID.format(model=..., observer_group=...)``; one path per interval.
INTERVAL_GID = "intervals-{model}-{observer_group}"
_GROUPS = {"human": ("humans", HUMAN_COLOUR, "o-"), "model": ("model", MODEL_COLOURS[0], "s-")}
_DODGE = 0.12  # x offset between humans and the model, in layer positions


@styled
def published_recognisability_plot(
    table: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    chance: float | None = 1 / 16,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Human and model recognisability of each layer's metamers, one panel per model.

    Parameters
    ----------
    table
        ``recognisability`` of :func:`psychoalign.workflows.published_recognisability`:
        ``experiment, model, layer, observer_group, n_participants, accuracy, ci_low,
        ci_high``, the layers of each model in order (natural images first).
    out
        Path of the figure without suffix.
    chance
        Chance accuracy, drawn dashed (1/16 for the 16-way task); None for no line.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        The table plotted (also the figure's CSV): ``table`` with ``position``, the
        layer's place on the x axis (0 for the first layer of the model) before the
        offset that keeps humans and model apart.

    Notes
    -----
    Humans in vermillion (circles), the model in blue (squares), each with its interval
    as an error bar; the intervals of a panel and group are the SVG group
    :data:`INTERVAL_GID`. Rows without an interval (NaN) show the mean only. The x axis
    runs from the natural images through the layers, early to late, as in Feather et
    al. (2023), Fig. 2.

    References
    ----------
    .. [1] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
       invariances between biological and artificial neural networks. Nature
       Neuroscience, 26, 2017-2034.
    """
    require_columns(
        table,
        ["model", "layer", "observer_group", "accuracy", "ci_low", "ci_high"],
        "table",
    )
    order = {model: list(dict.fromkeys(rows["layer"])) for model, rows in table.groupby("model")}
    plotted = table.assign(
        position=[
            order[m].index(layer) for m, layer in zip(table["model"], table["layer"], strict=True)
        ]
    )
    models = list(dict.fromkeys(table["model"]))
    figure, axes = new_figure(len(models), height=2.3)
    for ax, model in zip(axes, models, strict=True):
        data = plotted[plotted["model"] == model]
        for offset, (group, (label, colour, style)) in zip((-1, 1), _GROUPS.items(), strict=True):
            rows = data[data["observer_group"] == group].sort_values("position")
            if rows.empty:
                continue
            mean = rows["accuracy"].to_numpy(dtype=float)
            error = np.abs([mean - rows["ci_low"], rows["ci_high"] - mean])
            drawn = ax.errorbar(
                rows["position"] + offset * _DODGE / 2,
                mean,
                yerr=error,
                fmt=style,
                color=colour,
                capsize=1.5,
                label=label,
            )
            drawn.lines[2][0].set_gid(INTERVAL_GID.format(model=model, observer_group=group))
        if chance is not None:
            ax.axhline(chance, color="0.5", linestyle="--", linewidth=0.6, label="chance")
        ax.set_xticks(range(len(order[model])), order[model], rotation=40, ha="right")
        ax.set_ylim(0, 1.02)
        ax.set_title(model)
        ax.set_ylabel("Proportion correct")
    legend_below(figure, axes)
    return save_figure(
        figure,
        plotted,
        out,
        title="Recognisability of model metamers (Feather et al. 2023)",
        caption=(
            "Proportion correct (16-way) on natural images and on metamers matched at each "
            "layer of each model. Vermillion: human participants; blue: the model on the "
            "stimuli each participant saw; means over participants with 95 % t intervals "
            "over participants; dashed: chance."
        ),
        record=record,
    )
