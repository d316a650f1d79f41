"""Compare humans and models: trial files in, comparison tables and a results folder out.

:func:`compare_files` is ``psychoalign compare``: trial files read, compared and written
as tables with their provenance. :func:`compare_humans_and_models` runs every step a lab
needs after its experiment — model observers, comparison tables with ceilings,
statistics, figures and the HTML report — into one results folder; ``psychoalign demo``
and ``analysis/compare_humans_models.py`` are thin wrappers around it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

from psychoalign._checks import DEFAULT_N_BOOT
from psychoalign._io import check_output_folder, is_temporary, replaced_folder
from psychoalign._progress import progress_bar
from psychoalign.errors import OutputError, TrialDataError
from psychoalign.metrics import accuracy, comparison_tables, shape_bias
from psychoalign.metrics.shape_bias import cue_conflict_experiments
from psychoalign.provenance import provenance, write_outputs
from psychoalign.report import build_report
from psychoalign.stimuli import StimulusSet
from psychoalign.trials import (
    MODEL_VS_HUMAN_CATEGORIES,
    find_trial_files,
    level_values,
    read_trials,
)
from psychoalign.trials.readers.column_mapping import ColumnsSpec

__all__ = [
    "COMPARE_FILES_STEPS",
    "FileComparison",
    "PipelineResult",
    "compare_files",
    "compare_humans_and_models",
    "curve_trials",
]

#: The steps :func:`compare_files` reports to its ``progress`` callback, in order.
COMPARE_FILES_STEPS = ("reading trials", "comparing observers", "writing tables")

_STEPS = ("model observers", "comparison tables", "statistics", "figures", "report")


@dataclass
class PipelineResult:
    """Everything the pipeline made, and where."""

    out: Path
    trials: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    statistics: dict[str, pd.DataFrame]
    figures: list[Path] = field(default_factory=list)
    report: Path | None = None
    notes: list[str] = field(default_factory=list)


def curve_trials(trials: pd.DataFrame, curves: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Trials of experiments pooled into named curves (e.g. one noise paradigm, several image sets).

    Each listed experiment is renamed to its curve; a model observer's name gets the
    original experiment in brackets, so each image set stays its own series.
    """
    parts = []
    for curve, experiments in curves.items():
        part = trials[trials["experiment"].isin(list(experiments))].copy()
        renamed = (part["observer_kind"] == "model") & (part["experiment"] != curve)
        part.loc[renamed, "observer"] = (
            part.loc[renamed, "observer"] + " (" + part.loc[renamed, "experiment"] + ")"
        )
        part["experiment"] = curve
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else trials.iloc[:0]


@dataclass
class FileComparison:
    """What :func:`compare_files` read, computed and wrote."""

    out: Path
    trials: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    files: list[Path]
    notes: list[str] = field(default_factory=list)


def compare_files(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    preset: str | None = None,
    n_boot: int = 0,
    n_splits: int = 100,
    seed: int = 0,
    columns: ColumnsSpec | None = None,
    response_column: str | None = None,
    cue_conflict: Sequence[str] = (),
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> FileComparison:
    """Read trial files, compare their observers and write the tables with provenance.

    Parameters
    ----------
    inputs
        Trial files, folders of them, or glob patterns (any format
        :func:`psychoalign.trials.read_trials` reads).
    out
        Folder of the tables: ``<name>.csv`` and its ``<name>.json`` sidecar (inputs with
        their SHA-256, parameters, versions) for each table, written all or nothing. A
        folder that holds anything is refused unless ``overwrite``.
    preset
        ``"model-vs-human"`` reads the files as that benchmark does (16 categories,
        paired images) and applies its excluded conditions; None for neither.
    n_boot, n_splits, seed
        Bootstrap resamples, split halves and seed of
        :func:`psychoalign.metrics.comparison_tables`.
    columns, response_column
        Column mapping and decision column of :func:`psychoalign.trials.read_trials`.
    cue_conflict
        Experiments to treat as cue-conflict besides those recognised from their image
        names (:func:`psychoalign.metrics.cue_conflict_experiments`).
    overwrite
        Replace a non-empty ``out`` whole (an atomic folder swap), so that no table of an
        earlier run (e.g. its ``shape_bias.csv``) is left beside the new ones.
    progress
        Called with the name of each of :data:`COMPARE_FILES_STEPS` as it starts.

    Returns
    -------
    FileComparison
        The folder, the trial table read, the comparison tables (always ``accuracy``,
        ``error_consistency`` and ``benchmark``; ``shape_bias``, ``image_accuracy`` and
        ``behavioural_consistency`` where the data allow), the CSV files written and the
        reading notes (also in every sidecar's ``parameters.read_notes``).
    """
    step = progress or (lambda name: None)
    model_vs_human = preset == "model-vs-human"
    out = Path(out)
    replace = _check_empty(out, overwrite=overwrite)  # before any file is read
    step(COMPARE_FILES_STEPS[0])
    files = find_trial_files(inputs)
    trials = read_trials(
        files,
        paired=model_vs_human,
        categories=MODEL_VS_HUMAN_CATEGORIES if model_vs_human else None,
        columns=columns,
        response_column=response_column,
    )
    step(COMPARE_FILES_STEPS[1])
    tables = comparison_tables(
        trials,
        preset=preset,
        n_boot=n_boot,
        n_splits=n_splits,
        seed=seed,
        cue_conflict=cue_conflict,
    )
    step(COMPARE_FILES_STEPS[2])
    notes = list(trials.attrs.get("read_notes", []))
    parameters = {
        "preset": preset,
        "n_boot": n_boot,
        "n_splits": n_splits,
        "seed": seed,
        "columns": None if columns is None else str(columns),
        "response_column": response_column,
        "cue_conflict": list(cue_conflict),
        "read_notes": notes,
    }
    record = provenance(files, parameters)
    if not replace:
        return FileComparison(out, trials, tables, write_outputs(tables, out, record), notes)
    with replaced_folder(out) as staging:
        write_outputs(tables, staging, record)
    return FileComparison(out, trials, tables, [out / f"{name}.csv" for name in tables], notes)


def _check_empty(out: Path, *, overwrite: bool) -> bool:
    """Refuse a non-empty ``out`` unless ``overwrite``; whether there is a folder to replace.

    A hidden temporary of another run does not count as content.
    """
    check_output_folder(out)
    held = out.is_dir() and any(not is_temporary(entry.name) for entry in out.iterdir())
    if held and not overwrite:
        raise OutputError(
            f"{out}: already exists and is not empty; choose another --out or pass "
            "--overwrite to replace it whole."
        )
    return held


def _graded(trials: pd.DataFrame) -> bool:
    """At least three finite numeric levels: enough for a psychometric function."""
    try:
        values = level_values(trials["condition"].unique().tolist())
    except TrialDataError:
        return False
    return int(np.isfinite(values).sum()) >= 3


def compare_humans_and_models(
    human_trials: pd.DataFrame,
    stimulus_sets: Sequence[StimulusSet],
    out: str | os.PathLike[str],
    *,
    models: Sequence[str] = ("efficientnet_lite0",),
    mapping: str = "imagenet-16",
    preset: str | None = None,
    curves: Mapping[str, Sequence[str]] | None = None,
    level_label: str = "Condition",
    inputs: Sequence[str | os.PathLike[str]] = (),
    seed: int = 0,
    n_boot: int = DEFAULT_N_BOOT,
    device: str | None = None,
    title: str = "Humans and models",
    progress: bool = True,
) -> PipelineResult:
    """Run model observers on the stimulus sets and compare them with the human trials.

    Parameters
    ----------
    human_trials
        Validated trial table of the human observers.
    stimulus_sets
        Saved stimulus sets the models run on; their names are the experiments.
    out
        Results folder: ``models/`` (cached model runs), ``tables/``, ``stats/``,
        ``figures/`` and ``report.html``.
    models, mapping
        Model names and decision mapping (see :func:`psychoalign.workflows.evaluate`).
    preset
        Comparison preset (``"model-vs-human"`` for its benchmark conditions).
    curves
        Curves over levels that pool experiments, ``{curve: [experiments]}``: e.g. the
        human ``uniform-noise`` experiment with model runs on noise sets made from other
        images. Curves get accuracy plots, psychometric fits and the mixed model.
    level_label
        Axis label of the levels (with unit).
    inputs
        Files the human trials came from (recorded with their SHA-256).
    seed
        Seed of every resampling.
    n_boot
        Bootstrap resamples of the psychometric thresholds (used by ``method="mle"``
        fits only; psignifit's intervals come from the posterior).
    device
        Device of the models.
    title
        Title of the report.
    progress
        Show progress bars.

    Returns
    -------
    PipelineResult
        The combined trials, the comparison tables, the statistics, the figure files and
        the report.
    """
    # Imported here, as are matplotlib (plots) and statsmodels (stats) in the helpers below:
    # compare_files (``psychoalign compare``) needs none of them and starts without them.
    from psychoalign.workflows.evaluation import evaluate

    out = Path(out)
    columns = (TextColumn("{task.description:<20}"), BarColumn(), TimeElapsedColumn())
    with progress_bar(*columns, show=progress) as bar:
        task = bar.add_task(_STEPS[0], total=len(_STEPS))

        def step(name: str) -> None:
            bar.update(task, description=name, advance=1)

        evaluate(
            list(models),
            stimulus_sets,
            out / "models",
            mapping=mapping,
            device=device,
            progress=progress,
        )
        model_files = find_trial_files(out / "models")
        model_trials = read_trials(model_files)
        trials = pd.concat([human_trials, model_trials], ignore_index=True)
        step(_STEPS[1])
        parameters = {
            "preset": preset,
            "mapping": mapping,
            "models": list(models),
            "seed": seed,
            "n_boot": n_boot,
        }
        record = provenance([*inputs, *model_files], parameters)
        tables = comparison_tables(trials, preset=preset, seed=seed)
        write_outputs(tables, out / "tables", record)
        step(_STEPS[2])
        statistics = _statistics(trials, curves or {}, n_boot=n_boot, seed=seed)
        if statistics:
            write_outputs(statistics, out / "stats", record, descriptions=_STATISTICS_DESCRIPTIONS)
        step(_STEPS[3])
        figures = _figures(
            trials, tables, curves or {}, out / "figures", level_label=level_label, record=record
        )
        step(_STEPS[4])
        report = build_report(
            out, out / "report.html", title=title, summary=_summary(tables, statistics)
        )
        bar.update(task, description="done", completed=len(_STEPS))
    return PipelineResult(out, trials, tables, statistics, figures, report)


_STATISTICS_DESCRIPTIONS = {
    "psychometric_fits": (
        "Logistic psychometric function per observer, fitted with psignifit 4 (Bayesian; "
        "chance 1/number of categories, lapse rate and overdispersion fitted); threshold = "
        "level halfway between chance and the upper asymptote, with its 95 % credible "
        "interval."
    ),
    "threshold_comparison": (
        "Each model's threshold against the human thresholds of the same curve: the human "
        "mean with its t interval, their range, and the difference."
    ),
    "mixed_model": (
        "correct ~ level x observer kind (humans the reference), binomial, random intercepts "
        "for observers and images; GEE with exchangeable correlation when the mixed model "
        "does not converge (the method column says which)."
    ),
}


def _statistics(
    trials: pd.DataFrame, curves: Mapping[str, Sequence[str]], *, n_boot: int, seed: int
) -> dict[str, pd.DataFrame]:
    """Psychometric fits, threshold comparison and mixed model of the graded experiments."""
    from psychoalign.stats import mixed_model, psychometric_fit, threshold_comparison

    data = curve_trials(trials, curves)
    graded = {experiment: _graded(group) for experiment, group in data.groupby("experiment")}
    data = data[data["experiment"].map(graded).astype(bool)] if graded else data
    if data.empty:
        return {}
    data = data[np.isfinite(level_values(data["condition"].tolist()))]
    fits = psychometric_fit(data, n_boot=n_boot, seed=seed)
    statistics = {"psychometric_fits": fits, "threshold_comparison": threshold_comparison(fits)}
    mixed = [
        mixed_model(group, seed=seed).assign(experiment=experiment)
        for experiment, group in data.groupby("experiment")
        if group["observer_kind"].nunique() == 2
    ]
    if mixed:
        statistics["mixed_model"] = pd.concat(mixed, ignore_index=True)
    return statistics


def _figures(
    trials: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    curves: Mapping[str, Sequence[str]],
    folder: Path,
    *,
    level_label: str,
    record: Mapping[str, object],
) -> list[Path]:
    """Every figure the data allow (each with the CSV behind it); the PNG paths, in order."""
    from psychoalign import plots

    made: list[Path] = []
    pooled = [e for experiments in curves.values() for e in experiments]
    curve_data = curve_trials(trials, curves)
    conflicts = cue_conflict_experiments(trials)
    others = trials[~trials["experiment"].isin([*pooled, *conflicts])]
    chance = 1 / trials["category"].nunique()
    if len(curve_data):
        plots.accuracy_by_level(
            accuracy(curve_data),
            folder / "accuracy_by_level",
            chance=chance,
            level_label=level_label,
            record=record,
        )
        made.append(folder / "accuracy_by_level.png")
    if len(others):
        plots.accuracy_by_level(accuracy(others), folder / "accuracy", chance=chance, record=record)
        made.append(folder / "accuracy.png")
    kappa = tables["error_consistency"]
    kappa = kappa[~kappa["experiment"].isin(conflicts)]
    if len(kappa):
        plots.error_consistency_by_level(
            kappa,
            folder / "error_consistency",
            record=record,
        )
        made.append(folder / "error_consistency.png")
    if "behavioural_consistency" in tables:
        plots.consistency_bars(
            tables["behavioural_consistency"], folder / "consistency_ceilings", record=record
        )
        made.append(folder / "consistency_ceilings.png")
    benchmark = tables["benchmark"]
    if (benchmark["observer_kind"] == "model").any():
        made += _model_figures(trials, benchmark, folder, record=record)
    plots.benchmark_table(benchmark, folder / "benchmark_table", record=record)
    made.append(folder / "benchmark_table.png")
    if "shape_bias" in tables:
        per_category = shape_bias(trials[trials["experiment"].isin(conflicts)], per_category=True)
        plots.shape_bias_by_category(per_category, folder / "shape_bias", record=record)
        made.append(folder / "shape_bias.png")
    return made


def _model_figures(
    trials: pd.DataFrame,
    benchmark: pd.DataFrame,
    folder: Path,
    *,
    record: Mapping[str, object],
) -> list[Path]:
    """Consistency against accuracy and the confusion matrices, per experiment with a model."""
    from psychoalign import plots

    made: list[Path] = []
    compared = benchmark[
        benchmark["error_consistency"].notna() | (benchmark["observer_kind"] == "human")
    ]
    experiments = sorted(
        set(compared.loc[compared["observer_kind"] == "model", "experiment"]) - {"all"}
    )
    for experiment in experiments:
        plots.consistency_vs_accuracy(
            benchmark,
            folder / f"consistency_vs_accuracy_{experiment}",
            experiment=experiment,
            record=record,
        )
        made.append(folder / f"consistency_vs_accuracy_{experiment}.png")
        # The first model (by name) of the experiment is the one whose confusions are shown.
        model = sorted(
            trials.loc[
                (trials["experiment"] == experiment) & (trials["observer_kind"] == "model"),
                "observer",
            ].unique()
        )[0]
        plots.confusion_matrices(
            trials,
            folder / f"confusion_{experiment}",
            experiment=experiment,
            model=model,
            record=record,
        )
        made.append(folder / f"confusion_{experiment}.png")
    return made


def _summary(tables: Mapping[str, pd.DataFrame], statistics: Mapping[str, pd.DataFrame]) -> str:
    """A short paragraph of the headline numbers for the top of the report."""
    benchmark = tables["benchmark"]
    rows = benchmark[
        (benchmark["observer_kind"] == "model") & benchmark["error_consistency"].notna()
    ]
    humans = benchmark[(benchmark["observer_kind"] == "human") & (benchmark["experiment"] != "all")]
    sentences = []
    for row in rows[rows["experiment"] != "all"].itertuples(index=False):
        ceiling = humans.loc[humans["experiment"] == row.experiment, "error_consistency"].mean()
        sentences.append(
            f"On <b>{row.experiment}</b>, {row.observer} is {row.accuracy:.0%} correct and its "
            "error "
            f"consistency with humans is κ = {row.error_consistency:.2f} (humans with each other: "
            f"{ceiling:.2f})."
        )
    bias = tables.get("shape_bias")
    if bias is not None:
        for (experiment, observer), row in bias[bias["observer_kind"] == "model"].groupby(
            ["experiment", "observer"]
        ):
            humans = bias[(bias["experiment"] == experiment) & (bias["observer_kind"] == "human")]
            if humans.empty:
                continue
            sentences.append(
                f"On <b>{experiment}</b>, {observer}'s shape bias is "
                f"{row['shape_bias'].iloc[0]:.2f}; humans {humans['shape_bias'].mean():.2f} "
                f"(range {humans['shape_bias'].min():.2f}–{humans['shape_bias'].max():.2f}, "
                f"{len(humans)} observers)."
            )
    comparison = statistics.get("threshold_comparison")
    if comparison is not None:
        for row in comparison.itertuples(index=False):
            sentences.append(
                f"On <b>{row.experiment}</b>, {row.observer}'s threshold is {row.threshold:.3g} "
                f"[{row.ci_low:.3g}, {row.ci_high:.3g}]; humans {row.human_mean:.3g} "
                f"(range {row.human_min:.3g}–{row.human_max:.3g})."
            )
    return "<p>" + " ".join(sentences) + "</p>" if sentences else ""
