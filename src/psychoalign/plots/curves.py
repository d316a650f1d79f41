"""Curves over degradation levels: accuracy and error consistency, humans as a band."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from psychoalign.plots._figure import (
    HUMAN_COLOUR,
    HUMANS,
    legend_below,
    model_colours,
    new_figure,
    ordered_levels,
    save_figure,
    styled,
)
from psychoalign.trials import require_columns

__all__ = ["accuracy_by_level", "error_consistency_by_level"]


def _band_and_lines(
    ax: Any,
    table: pd.DataFrame,
    value: str,
    levels: list[str],
    colours: dict[str, str],
) -> None:
    position = {level: i for i, level in enumerate(levels)}
    band = table[table["series"] == HUMANS].sort_values("x")
    if len(band):
        ax.fill_between(
            band["x"], band["low"], band["high"], color=HUMAN_COLOUR, alpha=0.2, linewidth=0
        )
        ax.plot(
            band["x"], band[value], color=HUMAN_COLOUR, marker="o", label="humans (mean, range)"
        )
    for name, line in table[table["series"] != HUMANS].groupby("series", sort=True):
        line = line.sort_values("x")
        ax.plot(line["x"], line[value], color=colours[name], marker="s", label=name)
    ax.set_xticks(range(len(levels)), levels, rotation=45 if max(map(len, levels)) > 4 else 0)
    ax.set_xlim(-0.3, max(len(position) - 0.7, 0.3))


@styled
def accuracy_by_level(
    accuracy: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    chance: float | None = None,
    level_label: str = "Condition",
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Accuracy against degradation level, one line per model, humans as mean and range.

    Parameters
    ----------
    accuracy
        Output of :func:`psychoalign.metrics.accuracy` (one panel per ``experiment``).
    out
        Path of the figure without suffix; PNG, PDF, SVG, CSV and JSON are written.
    chance
        Chance accuracy, drawn as a dashed line (e.g. 1/16).
    level_label
        Label of the x axis (the unit of the levels, e.g. "Noise width").
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        The table behind the figure: ``experiment, condition, x, series, kind, accuracy,
        low, high, n_observers`` (``series`` ``humans``: mean over human observers,
        ``low``/``high`` their range; models: their accuracy and Wilson interval).
    """
    require_columns(
        accuracy, ["experiment", "condition", "observer", "observer_kind", "accuracy"], "accuracy"
    )
    rows = []
    for experiment, data in accuracy.groupby("experiment", sort=True):
        levels = ordered_levels(data["condition"])
        position = {level: i for i, level in enumerate(levels)}
        humans = data[data["observer_kind"] == "human"].groupby("condition")["accuracy"]
        for condition, values in humans:
            rows.append(
                (
                    experiment,
                    condition,
                    position[condition],
                    HUMANS,
                    "human",
                    values.mean(),
                    values.min(),
                    values.max(),
                    len(values),
                )
            )
        for row in data[data["observer_kind"] == "model"].itertuples(index=False):
            rows.append(
                (
                    experiment,
                    row.condition,
                    position[row.condition],
                    row.observer,
                    "model",
                    row.accuracy,
                    getattr(row, "ci_low", np.nan),
                    getattr(row, "ci_high", np.nan),
                    1,
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "experiment",
            "condition",
            "x",
            "series",
            "kind",
            "accuracy",
            "low",
            "high",
            "n_observers",
        ],
    )
    experiments = sorted(table["experiment"].unique())
    figure, axes = new_figure(len(experiments))
    colours = model_colours(table.loc[table["kind"] == "model", "series"])
    for ax, experiment in zip(axes, experiments, strict=True):
        panel = table[table["experiment"] == experiment]
        _band_and_lines(
            ax,
            panel,
            "accuracy",
            ordered_levels(accuracy.loc[accuracy["experiment"] == experiment, "condition"]),
            colours,
        )
        if chance is not None:
            ax.axhline(chance, color="0.5", linestyle="--", linewidth=0.6)
        ax.set_ylim(0, 1.02)
        ax.set_title(experiment)
        ax.set_xlabel(level_label)
        ax.set_ylabel("Accuracy (proportion correct)")
    legend_below(figure, axes)
    return save_figure(
        figure,
        table,
        out,
        title="Accuracy by condition",
        caption=(
            "Proportion correct at each condition. Humans: mean over observers (line) and "
            "range (band). Models: one line each."
            + (f" Dashed: chance ({chance:.3g})." if chance is not None else "")
        ),
        record=record,
    )


@styled
def error_consistency_by_level(
    kappa: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    level_label: str = "Condition",
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Error consistency with humans against level, with the human–human band.

    Parameters
    ----------
    kappa
        Output of :func:`psychoalign.metrics.error_consistency` (pairs per experiment and
        condition).
    out
        Path of the figure without suffix.
    level_label
        Label of the x axis.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``experiment, condition, x, series, kind, kappa, low, high, n_pairs``: for
        ``humans`` the mean κ over human–human pairs and its range; for each model the
        mean κ over its pairs with humans and their range.

    References
    ----------
    .. [1] Geirhos, Meding & Wichmann (2020). Beyond accuracy: quantifying trial-by-trial
       behaviour of CNNs and humans by measuring error consistency. NeurIPS.
    """
    require_columns(
        kappa,
        ["experiment", "condition", "observer_1", "observer_2", "kind_1", "kind_2", "kappa"],
        "kappa",
    )
    human_pairs = kappa[(kappa["kind_1"] == "human") & (kappa["kind_2"] == "human")].assign(
        series=HUMANS, kind="human"
    )
    mixed = kappa[(kappa["kind_1"] == "human") ^ (kappa["kind_2"] == "human")]
    with_models = mixed.assign(
        series=np.where(mixed["kind_1"] == "model", mixed["observer_1"], mixed["observer_2"]),
        kind="model",
    )
    pairs = pd.concat([human_pairs, with_models], ignore_index=True)
    rows = []
    for experiment, data in pairs.groupby("experiment", sort=True):
        levels = ordered_levels(data["condition"])
        position = {level: i for i, level in enumerate(levels)}
        for (series, kind, condition), values in data.groupby(["series", "kind", "condition"])[
            "kappa"
        ]:
            rows.append(
                (
                    experiment,
                    condition,
                    position[condition],
                    series,
                    kind,
                    values.mean(),
                    values.min(),
                    values.max(),
                    len(values),
                )
            )
    table = pd.DataFrame(
        rows,
        columns=[
            "experiment",
            "condition",
            "x",
            "series",
            "kind",
            "kappa",
            "low",
            "high",
            "n_pairs",
        ],
    )
    experiments = sorted(table["experiment"].unique())
    figure, axes = new_figure(max(len(experiments), 1))
    colours = model_colours(table.loc[table["kind"] == "model", "series"])
    for ax, experiment in zip(axes, experiments, strict=True):
        panel = table[table["experiment"] == experiment]
        _band_and_lines(
            ax, panel, "kappa", ordered_levels(panel.sort_values("x")["condition"]), colours
        )
        ax.axhline(0, color="0.5", linestyle="--", linewidth=0.6)
        ax.set_ylim(-0.2, 1.0)
        ax.set_title(experiment)
        ax.set_xlabel(level_label)
        ax.set_ylabel("Error consistency (Cohen's κ)")
    if len(axes):
        legend_below(figure, axes)
    return save_figure(
        figure,
        table,
        out,
        title="Error consistency by condition",
        caption=(
            "Trial-by-trial error consistency (Cohen's κ). Band: human–human pairs (mean and "
            "range), the ceiling a model can reach; lines: each model against every human "
            "(mean over humans). Dashed: κ = 0, agreement expected by accuracy alone."
        ),
        record=record,
    )
