"""``psychoalign demo``: the bundled model against the bundled human data, offline, in minutes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from psychoalign.datasets import data_dir, load_model_vs_human, stimulus_set
from psychoalign.errors import StimulusSetError
from psychoalign.stimuli import StimulusSet, make_stimulus_set
from psychoalign.workflows.compare import PipelineResult, compare_humans_and_models

__all__ = ["DEMO_N_BOOT", "DEMO_SEED", "published_demo_sets", "run_demo", "summary_table"]

DEMO_SEED = 0
#: Bootstrap resamples of the psychometric thresholds: enough for the demo's minutes.
DEMO_N_BOOT = 200
_HUMAN_DATASETS = ("edge", "silhouette", "uniform-noise", "cue-conflict")
_NOISE = "uniform-noise"
_CUE_CONFLICT = "cue-conflict"


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


def run_demo(
    out: str | os.PathLike[str] = "results/demo",
    *,
    device: str | None = None,
    progress: bool = True,
) -> PipelineResult:
    """Evaluate EfficientNet-Lite0 on the bundled sets and compare it with the bundled humans.

    The model runs on the real ``edge`` and ``silhouette`` stimuli and on seeded
    uniform-noise sets made from them (the 8 levels of Geirhos et al. 2018); it is
    compared trial by trial with the 10 human observers of each set, its noise curve
    with the human ``uniform-noise`` observers of model-vs-human (who saw other images
    at the same levels), and the human cue-conflict data give the shape-bias figure;
    when the cue-conflict stimuli have been fetched (:func:`published_demo_sets`) the
    model runs on them too and its shape bias joins the 10 humans'.

    Parameters
    ----------
    out
        Results folder; the noise sets are made under ``out/stimuli`` (and reused when
        they are already there, intact and made from the same source), the model runs
        are cached under ``out/models``.
    device
        Device of the model (default: a GPU if there is one).
    progress
        Show progress bars.

    Returns
    -------
    PipelineResult
        Tables, statistics, figures and the report, all under ``out``; ``notes`` says
        which published sets were missing and how to fetch them.
    """
    out = Path(out)
    sources = [stimulus_set("edge"), stimulus_set("silhouette")]
    noise = [_noise_set(source, out / "stimuli", progress) for source in sources]
    published, notes = published_demo_sets()
    root = data_dir() / "model-vs-human" / "human-raw"
    result = compare_humans_and_models(
        load_model_vs_human(_HUMAN_DATASETS),
        [*sources, *noise, *published],
        out,
        preset="model-vs-human",
        curves={_NOISE: [_NOISE, *(s.name for s in noise)]},
        level_label="Uniform noise width",
        inputs=sorted(p for name in _HUMAN_DATASETS for p in (root / name).glob("*.csv")),
        n_boot=DEMO_N_BOOT,
        seed=DEMO_SEED,
        device=device,
        title="psychoalign demo: EfficientNet-Lite0 and human observers",
        progress=progress,
    )
    result.notes.extend(notes)
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
