"""``psychoalign demo``: the bundled model against the bundled human data, offline, in minutes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from psychoalign.datasets import data_dir, load_model_vs_human, stimulus_set
from psychoalign.errors import StimulusSetError
from psychoalign.provenance import provenance, write_outputs
from psychoalign.stimuli import StimulusSet, make_stimulus_set
from psychoalign.trials import find_trial_files, read_trials
from psychoalign.workflows.compare import PipelineResult, compare_humans_and_models

__all__ = ["DEMO_N_BOOT", "DEMO_SEED", "published_demo_sets", "run_demo", "summary_table"]

DEMO_SEED = 0
#: Bootstrap resamples (recorded with the comparison; the demo's fits are psignifit's).
DEMO_N_BOOT = 200
#: The proportion correct at which every observer's noise robustness is read off.
_CRITERION = 0.5
_MODEL = "efficientnet_lite0"
#: Human data compared trial by trial with the model on the same images.
_MATCHED_DATASETS = ("edge", "silhouette", "cue-conflict")
_NOISE = "uniform-noise"
_CUE_CONFLICT = "cue-conflict"
#: What the humans and the model saw in the noise experiments: the panel titles.
_NOISE_PANELS = {
    _NOISE: "humans: noisy ImageNet photographs",
    f"edge-{_NOISE}": "model: noisy edge drawings",
    f"silhouette-{_NOISE}": "model: noisy silhouettes",
}
#: Said in the noise figure's title and caption, the statistics and the demo's notes.
_NOT_MATCHED = (
    "NOT MATCHED: humans saw noisy ImageNet photographs (model-vs-human uniform-noise, "
    "4 observers), the model saw noisy edge drawings and silhouettes (the bundled sets "
    "with the same 8 noise widths added); the images differ, so the curves are shown "
    "side by side and no model is fitted across humans and the model."
)


def published_demo_sets() -> tuple[list[StimulusSet], list[str]]:
    """The fetched published sets the demo adds, and what it says about those missing.

    The 1,280 cue-conflict stimuli (133 MB, not bundled) give the model's shape bias
    beside the 10 humans' once ``psychoalign datasets fetch cue-conflict`` has put them
    in the cache; without them the demo says how to fetch them.
    """
    try:
        return [stimulus_set(_CUE_CONFLICT)], []
    except StimulusSetError:
        return [], [
            "The cue-conflict stimuli are not in the cache, so the model's shape bias is "
            "not measured (the humans' is): `psychoalign datasets fetch cue-conflict` "
            "downloads them (1,280 images, 133 MB) and the next demo adds it."
        ]


def _noise_set(source: StimulusSet, folder: Path, progress: bool) -> StimulusSet:
    """The seeded uniform-noise set made from ``source``, reused when it is already there."""
    target = folder / f"{source.name}-{_NOISE}"
    if target.is_dir():
        try:
            existing = StimulusSet.open(target)
            if (
                existing.info.get("source", {}).get("checksum") == source.checksum
                and existing.verify().empty
            ):
                return existing
        except StimulusSetError:
            pass
    return make_stimulus_set(
        source, _NOISE, target, seed=DEMO_SEED, name=target.name, overwrite=True, progress=progress
    )


def _criterion_levels(trials: pd.DataFrame, criterion: float = _CRITERION) -> pd.DataFrame:
    """Each observer's noise width at ``criterion`` correct, from a psignifit fit per observer.

    One absolute standard for everyone, where a threshold halfway to each observer's own
    asymptote would make a less accurate observer look more robust.

    Parameters
    ----------
    trials
        Noise trials, one experiment per image set (humans and models never share one).
    criterion
        Proportion correct.

    Returns
    -------
    pandas.DataFrame
        ``experiment, observer, observer_kind, criterion, noise_width, in_range,
        best_accuracy, n_trials``: ``noise_width`` is NaN where the fitted function never
        reaches the criterion; ``best_accuracy`` is the observer's accuracy at its best
        level.
    """
    from psychoalign.stats import psychometric_fit

    fits = psychometric_fit(trials, criterion=criterion)
    best = trials.groupby(["experiment", "observer", "condition"])["correct"].mean()
    best = best.groupby(["experiment", "observer"]).max().rename("best_accuracy")
    table = fits.join(best, on=["experiment", "observer"]).assign(criterion=criterion)
    table = table.rename(
        columns={"criterion_level": "noise_width", "criterion_in_range": "in_range"}
    )
    columns = ["experiment", "observer", "observer_kind", "criterion", "noise_width"]
    return table[[*columns, "in_range", "best_accuracy", "n_trials"]]


def _criterion_sentence(levels: pd.DataFrame) -> str:
    """The criterion levels in words, humans first, then each model and image set."""
    parts = []
    humans = levels[levels["observer_kind"] == "human"]
    if len(humans):
        parts.append(
            f"humans {humans['noise_width'].min():.2f}–{humans['noise_width'].max():.2f} "
            f"({len(humans)} observers)"
        )
    for row in levels[levels["observer_kind"] == "model"].itertuples(index=False):
        value = (
            f"never {row.criterion:.0%} correct (best {row.best_accuracy:.0%})"
            if pd.isna(row.noise_width)
            else f"{row.noise_width:.2f}"
        )
        parts.append(f"{row.observer} on {row.experiment.removeprefix('model: ')} {value}")
    criterion = levels["criterion"].iloc[0]
    return f"Noise width at {criterion:.0%} correct: " + "; ".join(parts) + "."


def _noise_comparison(
    noise: Sequence[StimulusSet], out: Path, *, device: str | None, progress: bool
) -> tuple[Path, pd.DataFrame, str]:
    """The model on the noise sets beside the humans on theirs: figure, criterion levels, note.

    Humans and the model saw different images, so each image set is its own panel and
    its own fits; nothing is fitted across them.
    """
    from psychoalign import plots
    from psychoalign.metrics import accuracy
    from psychoalign.workflows.evaluation import evaluate

    runs = out / "models-noise"
    evaluate([_MODEL], noise, runs, device=device, progress=progress)
    files = find_trial_files(runs)
    trials = pd.concat([load_model_vs_human(_NOISE), read_trials(files)], ignore_index=True)
    trials["experiment"] = trials["experiment"].map(_NOISE_PANELS)
    human_files = sorted((data_dir() / "model-vs-human" / "human-raw" / _NOISE).glob("*.csv"))
    record = provenance(
        [*human_files, *files], {"criterion": _CRITERION, "models": [_MODEL]}, ["psignifit"]
    )
    levels = _criterion_levels(trials)
    sentence = _criterion_sentence(levels)
    write_outputs(
        {"criterion_levels": levels},
        out / "stats",
        record,
        descriptions={
            "criterion_levels": (
                f"{_NOT_MATCHED} Noise width at which each observer's psignifit "
                f"function (logistic, chance 1/16, lapse fitted) passes "
                f"{_CRITERION:.0%} correct, one criterion for all; NaN: never reached."
            )
        },
    )
    figure = out / "figures" / "uniform_noise_not_matched"
    plots.accuracy_by_level(
        accuracy(trials),
        figure,
        chance=1 / trials["category"].nunique(),
        level_label="Uniform noise width",
        title=_NOT_MATCHED,
        note=sentence,
        record=record,
    )
    return figure.with_suffix(".png"), levels, f"{_NOT_MATCHED} {sentence}"


def run_demo(
    out: str | os.PathLike[str] = "results/demo",
    *,
    device: str | None = None,
    progress: bool = True,
) -> PipelineResult:
    """Evaluate EfficientNet-Lite0 on the bundled sets and compare it with the bundled humans.

    The model runs on the real ``edge`` and ``silhouette`` stimuli and is compared trial
    by trial with the 10 human observers of each set; the human cue-conflict data give
    the shape-bias figure, and when the cue-conflict stimuli have been fetched
    (:func:`published_demo_sets`) the model runs on them too and its shape bias joins
    the 10 humans'. The model also runs on seeded uniform-noise sets made from edge and
    silhouette (the 8 levels of Geirhos et al. 2018); the human ``uniform-noise``
    observers of model-vs-human saw noisy ImageNet photographs instead, so that
    comparison is NOT MATCHED: drawn as separate panels, said so in the figure, the
    statistics and the notes, and no model is fitted across the two. Each observer's
    noise robustness is the noise width at 50 % correct
    (``stats/criterion_levels.csv``).

    Parameters
    ----------
    out
        Results folder; the noise sets are made under ``out/stimuli`` (and reused when
        they are already there, intact and made from the same source), the model runs
        are cached under ``out/models`` (matched sets) and ``out/models-noise``.
    device
        Device of the model (default: a GPU if there is one).
    progress
        Show progress bars.

    Returns
    -------
    PipelineResult
        Tables, statistics (with ``criterion_levels``), figures and the report, all
        under ``out``; ``notes`` gives the NOT MATCHED noise comparison and says which
        published sets were missing and how to fetch them.
    """
    out = Path(out)
    sources = [stimulus_set("edge"), stimulus_set("silhouette")]
    noise = [_noise_set(source, out / "stimuli", progress) for source in sources]
    figure, levels, note = _noise_comparison(noise, out, device=device, progress=progress)
    published, notes = published_demo_sets()
    root = data_dir() / "model-vs-human" / "human-raw"
    result = compare_humans_and_models(
        load_model_vs_human(_MATCHED_DATASETS),
        [*sources, *published],
        out,
        preset="model-vs-human",
        inputs=sorted(p for name in _MATCHED_DATASETS for p in (root / name).glob("*.csv")),
        n_boot=DEMO_N_BOOT,
        seed=DEMO_SEED,
        device=device,
        title="psychoalign demo: EfficientNet-Lite0 and human observers",
        progress=progress,
    )
    result.figures.insert(0, figure)
    result.statistics["criterion_levels"] = levels
    result.notes.extend([note, *notes])
    return result


def summary_table(result: PipelineResult) -> pd.DataFrame:
    """One row per experiment with a model: its accuracy, κ with humans, κ between humans.

    Parameters
    ----------
    result
        What :func:`run_demo` (or
        :func:`psychoalign.workflows.compare_humans_and_models`) returned.

    Returns
    -------
    pandas.DataFrame
        ``experiment``; ``model_accuracy`` (correct over all the model's trials);
        ``model_human_kappa`` (mean error consistency κ over model–human pairs) and
        ``human_human_kappa`` (over human–human pairs), NaN where there are no such pairs.
    """
    accuracy = result.tables["accuracy"]
    kappa = result.tables["error_consistency"]
    rows = []
    for experiment in sorted(
        accuracy.loc[accuracy["observer_kind"] == "model", "experiment"].unique()
    ):
        here = accuracy[accuracy["experiment"] == experiment]
        pairs = kappa[kappa["experiment"] == experiment]
        mixed = pairs[(pairs["kind_1"] == "human") ^ (pairs["kind_2"] == "human")]
        humans = pairs[(pairs["kind_1"] == "human") & (pairs["kind_2"] == "human")]
        model = here[here["observer_kind"] == "model"]
        rows.append(
            {
                "experiment": experiment,
                "model_accuracy": model["n_correct"].sum() / model["n_trials"].sum(),
                "model_human_kappa": mixed["kappa"].mean() if len(mixed) else float("nan"),
                "human_human_kappa": humans["kappa"].mean() if len(humans) else float("nan"),
            }
        )
    return pd.DataFrame(rows)
