"""Model–human agreement: consistency bars with noise ceilings, consistency vs accuracy."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from psychoalign.plots._figure import (
    HUMAN_COLOUR,
    legend_below,
    matched_overall,
    model_colours,
    new_figure,
    save_figure,
    styled,
)
from psychoalign.trials import require_columns

__all__ = ["consistency_bars", "consistency_vs_accuracy"]


@styled
def consistency_bars(
    consistency: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    category_metric: str = "O2",
    image_metric: str = "I2n",
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    r"""Model–human consistency at category and image level, each with the human noise ceiling.

    Parameters
    ----------
    consistency
        Output of :func:`psychoalign.metrics.behavioural_consistency` (concatenated over
        metrics), with ``metric, experiment, observer, raw_correlation,
        reference_reliability, consistency``.
    out
        Path of the figure without suffix.
    category_metric, image_metric
        The metrics of the left (category level) and right (image level) panels.
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``panel, metric, experiment, observer, correlation, low, high, ceiling,
        consistency``; ``low``/``high`` are the correlation minus and plus the spread of the
        consistency over split halves (``consistency_sd``) times the ceiling, NaN when the
        input has no ``consistency_sd``.

    Notes
    -----
    Bars are the raw correlation :math:`r(m, h)` between model and human signatures
    (mean over split halves); the ceiling drawn over them is :math:`\sqrt{r(h_0, h_1)}`,
    the highest correlation a noiseless model could reach with half the human data, so
    bar / ceiling is the noise-corrected consistency (Kell & McDermott 2019, Fig. 2a
    style).

    References
    ----------
    .. [1] Kell & McDermott (2019). Deep neural network models of sensory systems:
       windows onto the role of task constraints. Current Opinion in Neurobiology, 55.
    .. [2] Rajalingham et al. (2018). Journal of Neuroscience, 38(33), 7255-7269.
    """
    require_columns(
        consistency,
        [
            "metric",
            "experiment",
            "observer",
            "raw_correlation",
            "reference_reliability",
            "consistency",
        ],
        "consistency",
    )
    panels = {"Category level": category_metric, "Image level": image_metric}
    table = _consistency_table(consistency, panels)
    figure = _bar_figure(table, panels)
    return save_figure(
        figure,
        table,
        out,
        title="Model–human consistency with noise ceilings",
        caption=(
            f"Correlation between model and human behavioural signatures, category level "
            f"({category_metric}) and image level ({image_metric}); mean over split halves of "
            "the human data; bars: plus and minus the spread over splits. A bar too short to "
            "see is labelled with its value. Vermillion line and shading: the human noise "
            "ceiling, the square root of the split-half reliability of the human signature."
        ),
        record=record,
    )


def _consistency_table(consistency: pd.DataFrame, panels: Mapping[str, str]) -> pd.DataFrame:
    """One row per panel and compared observer: its raw correlation and the human ceiling."""
    rows = []
    for panel, metric in panels.items():
        data = consistency[consistency["metric"] == metric]
        for row in data.itertuples(index=False):
            ceiling = (
                float(np.sqrt(row.reference_reliability))
                if row.reference_reliability > 0
                else np.nan
            )
            spread = getattr(row, "consistency_sd", np.nan) * ceiling
            rows.append(
                (
                    panel,
                    metric,
                    row.experiment,
                    row.observer,
                    row.raw_correlation,
                    row.raw_correlation - spread,
                    row.raw_correlation + spread,
                    ceiling,
                    row.consistency,
                )
            )
    columns = ["panel", "metric", "experiment", "observer", "correlation", "low", "high"]
    return pd.DataFrame(rows, columns=[*columns, "ceiling", "consistency"])


def _bar_figure(table: pd.DataFrame, panels: Mapping[str, str]) -> Figure:
    """The two panels of bars and ceilings drawn from the table behind the figure."""
    figure, axes = new_figure(2, height=2.4)
    colours = model_colours(table["observer"])
    experiments = sorted(table["experiment"].unique())
    observers = sorted(table["observer"].unique())
    for ax, (panel, metric) in zip(axes, panels.items(), strict=True):
        data = table[table["panel"] == panel]
        lowest = np.nanmin(data[["correlation", "low"]].to_numpy(float), initial=0)
        ax.set_ylim(min(-0.1, float(lowest) - 0.05), 1.0)
        _bars(ax, data, experiments, observers, colours)
        _ceilings(ax, data, experiments)
        ax.axhline(0, color="0.3", linewidth=0.5)
        ax.set_xticks(range(len(experiments)), experiments)
        ax.set_title(f"{panel} ({metric})")
        ax.set_ylabel("Correlation with humans (r)")
    legend_below(figure, axes)
    return figure


def _bars(
    ax: Any,
    data: pd.DataFrame,
    experiments: list[str],
    observers: list[str],
    colours: Mapping[str, str],
) -> None:
    """One bar per observer within each experiment's slot, with its spread over splits.

    A bar too short to see (under 2 % of the axis) is labelled with its value; "n/a"
    marks an undefined r (e.g. a constant signature).
    """
    width = 0.8 / max(len(observers), 1)
    bottom, top = ax.get_ylim()
    for j, observer in enumerate(observers):
        bars = data[data["observer"] == observer].set_index("experiment").reindex(experiments)
        x = np.arange(len(experiments)) - 0.4 + width * (j + 0.5)
        ax.bar(x, bars["correlation"], width=width * 0.9, color=colours[observer], label=observer)
        finite = bars[["low", "high"]].notna().all(axis=1).to_numpy()
        if finite.any():
            ax.vlines(x[finite], bars["low"][finite], bars["high"][finite], color="0.2", lw=0.6)
        for position, value in zip(x, bars["correlation"], strict=True):
            if not np.isfinite(value):
                ax.text(position, 0.02, "n/a", ha="center", va="bottom", fontsize=6, rotation=90)
            elif abs(value) < 0.02 * (top - bottom):
                ax.text(
                    position,
                    0.02,
                    f"{value:.3f}",
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    rotation=90,
                )


def _ceilings(ax: Any, data: pd.DataFrame, experiments: list[str]) -> None:
    """The human noise ceiling of each experiment: a line, shaded up to 1."""
    ceilings = data.groupby("experiment")["ceiling"].first().reindex(experiments)
    for i, ceiling in enumerate(ceilings):
        if np.isfinite(ceiling):
            ax.fill_between(
                [i - 0.45, i + 0.45], ceiling, 1.0, color=HUMAN_COLOUR, alpha=0.15, linewidth=0
            )
            ax.hlines(ceiling, i - 0.45, i + 0.45, color=HUMAN_COLOUR, linewidth=1.0)


@styled
def consistency_vs_accuracy(
    benchmark: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    consistency: str = "error_consistency",
    experiment: str = "all",
    record: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Each observer's consistency with humans against its accuracy (Linsley & Serre style).

    Parameters
    ----------
    benchmark
        Output of :func:`psychoalign.metrics.benchmark`.
    out
        Path of the figure without suffix.
    consistency
        The y-axis column: ``error_consistency`` or ``observed_consistency``.
    experiment
        Which rows to plot: a dataset, or ``all`` (mean over datasets; only over the
        datasets every model was run on, named in the title, when these are not all).
    record
        Provenance stored in the JSON sidecar.

    Returns
    -------
    pandas.DataFrame
        ``observer, observer_kind, accuracy, consistency``.

    References
    ----------
    .. [1] Linsley, Feng & Serre (2023). Performance-optimized deep neural networks are
       evolving into worse models of inferotemporal visual cortex. NeurIPS (Fig. 1b).
    """
    require_columns(
        benchmark, ["observer", "observer_kind", "experiment", "accuracy", consistency], "benchmark"
    )
    rows, scope = (
        matched_overall(benchmark, ["accuracy", consistency])
        if experiment == "all"
        else (benchmark[benchmark["experiment"] == experiment], experiment)
    )
    table = rows[["observer", "observer_kind", "accuracy", consistency]].rename(
        columns={consistency: "consistency"}
    )
    figure, (ax,) = new_figure(1, height=2.6)
    humans = table[table["observer_kind"] == "human"]
    models = table[table["observer_kind"] == "model"]
    if len(humans):
        ax.scatter(
            humans["accuracy"],
            humans["consistency"],
            color=HUMAN_COLOUR,
            s=12,
            alpha=0.6,
            label="humans",
        )
        ax.axhspan(
            humans["consistency"].min(), humans["consistency"].max(), color=HUMAN_COLOUR, alpha=0.1
        )
    colours = model_colours(models["observer"])
    for row in models.itertuples(index=False):
        ax.scatter(
            row.accuracy,
            row.consistency,
            color=colours[row.observer],
            marker="s",
            s=16,
            label=row.observer,
        )
    ax.set_xlabel("Accuracy (proportion correct)")
    label = (
        "Error consistency with humans (κ)"
        if consistency == "error_consistency"
        else "Observed consistency"
    )
    ax.set_ylabel(label)
    ax.set_title(scope)
    legend_below(figure, [ax])
    return save_figure(
        figure,
        table,
        out,
        title="Consistency with humans against accuracy",
        caption=(
            f"Each observer's {label.lower()} against its accuracy "
            f"({'mean over ' + scope if experiment == 'all' else scope}). Humans are "
            "compared with every other human; the shaded band spans them."
        ),
        record=record,
    )
