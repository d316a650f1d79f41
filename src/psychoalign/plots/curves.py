"""Curves over degradation levels: accuracy and error consistency, humans as a band."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from psychoalign.errors import TrialDataError
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
    """Humans as mean, range band and range bars; each model as a line with its interval.

    The range is drawn as a vertical bar at every level as well as a band, so a panel of
    one level (edge, silhouette) still shows it; models are dodged sideways so their
    intervals do not hide each other.
    """
    band = table[table["series"] == HUMANS].sort_values("x")
    if len(band) > 1:
        ax.fill_between(
            band["x"], band["low"], band["high"], color=HUMAN_COLOUR, alpha=0.2, linewidth=0
        )
    if len(band):
        _interval_line(ax, band, value, 0.0, HUMAN_COLOUR, "o", "humans (mean, range)")
    models = sorted(table.loc[table["series"] != HUMANS, "series"].unique())
    for i, name in enumerate(models):
        line = table[table["series"] == name].sort_values("x")
        shift = 0.12 * (i + 1) / len(models)
        _interval_line(ax, line, value, shift, colours[name], "s", name)
    ax.set_xticks(range(len(levels)), levels, rotation=45 if max(map(len, levels)) > 4 else 0)
    ax.set_xlim(-0.3, max(len(levels) - 0.7, 0.3))


def _interval_line(
    ax: Any, line: pd.DataFrame, value: str, shift: float, colour: str, marker: str, label: str
) -> None:
    """A series' values as a line, and each finite ``low``–``high`` interval as a bar."""
    x = line["x"].to_numpy(float) + shift
    ax.plot(x, line[value], color=colour, marker=marker, label=label)
    finite = line[["low", "high"]].notna().all(axis=1).to_numpy()
    if finite.any():
        ax.vlines(x[finite], line["low"][finite], line["high"][finite], color=colour, linewidth=0.7)


def _unmatched_conditions(panel: pd.DataFrame) -> str:
    """Why a panel's models and humans are not on the same conditions ('' when they are)."""
    human = set(panel.loc[panel["series"] == HUMANS, "condition"])
    problems = []
    for name, line in panel[panel["series"] != HUMANS].groupby("series", sort=True):
        own = set(line["condition"])
        if not human:
            problems.append(f"{name} has no humans to compare with")
        elif own != human:
            problems.append(f"{name} on {len(own & human)} of the {len(human)} human conditions")
    return "NOT MATCHED: " + "; ".join(problems) if problems else ""


@styled
def accuracy_by_level(
    accuracy: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    chance: float | None = None,
    level_label: str = "Condition",
    title: str | None = None,
    note: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Accuracy against degradation level, one line per model, humans as mean and range.

    Every ``low``–``high`` interval of the returned table is drawn (humans' range as a
    band and bars, so a single-level panel shows it too; each model's Wilson interval as
    bars). A panel whose models are not on the same conditions as its humans is titled
    ``NOT MATCHED``, saying which.

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
    title
        Drawn above the panels and kept as the sidecar's title (say, why the panels
        are not matched); "Accuracy by condition" when not given.
    note
        A sentence put before the caption.
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
    _require_rows(accuracy, "accuracy")
    table = _accuracy_table(accuracy)
    levels = {
        experiment: ordered_levels(accuracy.loc[accuracy["experiment"] == experiment, "condition"])
        for experiment in table["experiment"].unique()
    }
    figure = _level_panels(
        table,
        "accuracy",
        levels,
        reference=chance,
        ylim=(0, 1.02),
        level_label=level_label,
        ylabel="Accuracy (proportion correct)",
    )
    if title is not None:
        figure.suptitle(textwrap.fill(title, 110), fontsize="medium")
    return save_figure(
        figure,
        table,
        out,
        title=title or "Accuracy by condition",
        caption=(f"{note} " if note else "")
        + (
            "Proportion correct at each condition. Humans: mean over observers (line) and "
            "range (band and bars). Models: one line each, with their 95 % Wilson interval "
            "(bars). A panel whose models and humans are not on the same conditions says "
            "NOT MATCHED." + (f" Dashed: chance ({chance:.3g})." if chance is not None else "")
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

    Every ``low``–``high`` range of the returned table is drawn as bars (humans' also as
    a band); unmatched panels are titled ``NOT MATCHED`` as in :func:`accuracy_by_level`.

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
    table = _kappa_table(kappa)
    _require_rows(table, "kappa", "with a human observer")
    levels = {
        experiment: ordered_levels(
            table[table["experiment"] == experiment].sort_values("x")["condition"]
        )
        for experiment in table["experiment"].unique()
    }
    figure = _level_panels(
        table,
        "kappa",
        levels,
        reference=0,
        ylim=(-0.2, 1.0),
        level_label=level_label,
        ylabel="Error consistency (Cohen's κ)",
    )
    return save_figure(
        figure,
        table,
        out,
        title="Error consistency by condition",
        caption=(
            "Trial-by-trial error consistency (Cohen's κ). Band and bars: human–human "
            "pairs (mean and range), the ceiling a model can reach; lines: each model against "
            "every human (mean over humans; bars: range over humans). Dashed: κ = 0, "
            "agreement expected by accuracy alone."
        ),
        record=record,
    )


def _require_rows(table: pd.DataFrame, parameter: str, which: str = "") -> None:
    """Refuse a table with nothing to draw (one sentence naming the parameter)."""
    if table.empty:
        rows = f"no row {which}" if which else "no rows"
        raise TrialDataError(f"{parameter}: the table has {rows}, so there is nothing to plot.")


def _level_panels(
    table: pd.DataFrame,
    value: str,
    levels: Mapping[str, list[str]],
    *,
    reference: float | None,
    ylim: tuple[float, float],
    level_label: str,
    ylabel: str,
) -> Figure:
    """One panel per experiment: the human band, a line per model, a dashed reference."""
    experiments = sorted(table["experiment"].unique())
    figure, axes = new_figure(len(experiments))
    colours = model_colours(table.loc[table["kind"] == "model", "series"])
    for ax, experiment in zip(axes, experiments, strict=True):
        panel = table[table["experiment"] == experiment]
        _band_and_lines(ax, panel, value, levels[experiment], colours)
        if reference is not None:
            ax.axhline(reference, color="0.5", linestyle="--", linewidth=0.6)
        ax.set_ylim(*ylim)
        warning = textwrap.fill(_unmatched_conditions(panel), 40)
        ax.set_title(f"{experiment}\n{warning}" if warning else experiment)
        ax.set_xlabel(level_label)
        ax.set_ylabel(ylabel)
    legend_below(figure, axes)
    return figure


def _accuracy_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Humans' mean and range, and each model's accuracy and interval, per condition."""
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
    columns = ["experiment", "condition", "x", "series", "kind", "accuracy", "low", "high"]
    return pd.DataFrame(rows, columns=[*columns, "n_observers"])


def _kappa_table(kappa: pd.DataFrame) -> pd.DataFrame:
    """Mean and range of kappa per condition: human-human pairs, and each model with humans."""
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
    columns = ["experiment", "condition", "x", "series", "kind", "kappa", "low", "high"]
    return pd.DataFrame(rows, columns=[*columns, "n_pairs"])
