"""Compare your human observers with vision models, end to end. Copy this file and edit SETTINGS.

Or give the settings as options (``--help`` lists them; each defaults to SETTINGS).

Steps: model observers on your stimulus sets (cached), accuracy, error consistency,
benchmark, Rajalingham consistency and image-level agreement with noise ceilings,
psychometric thresholds and a binomial mixed model on graded conditions, every figure
(PNG, PDF, SVG + CSV), and one self-contained report.html.

    python analysis/compare_humans_models.py
    python analysis/compare_humans_models.py --human-trials my-trials/ \
        --stimulus-sets sets/noise --models efficientnet_lite0 --out results/mine

As shipped it runs on bundled data: the edge and silhouette humans of model-vs-human and
their real stimuli. Point SETTINGS at your own trial files (PsychoPy CSVs written by
`psychoalign run`, or any trial files) and stimulus sets (`psychoalign stimuli make`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from psychoalign.datasets import data_dir

DATA = data_dir()

SETTINGS = {
    # Human trial files or folders of them.
    "human_trials": [
        DATA / "model-vs-human/human-raw/edge",
        DATA / "model-vs-human/human-raw/silhouette",
    ],
    # Stimulus sets the humans saw; their names must be the experiments of the trial files.
    "stimulus_sets": [DATA / "stimulus-sets/edge", DATA / "stimulus-sets/silhouette"],
    # Models: efficientnet_lite0 (bundled), torchvision names, timm:<name> (weights cached locally).
    "models": ["efficientnet_lite0"],
    # Decision mapping: imagenet-16, imagenet-16-sum, animal, or your mapping file.
    "mapping": "imagenet-16",
    # Curves over graded conditions: {curve name: [experiments pooled in it]}.
    "curves": {},
    "level_label": "Condition",
    "paired": True,  # every observer of an experiment saw the same images
    "out": Path("results/compare"),
    "seed": 0,
    "n_boot": 200,  # bootstrap resamples of the psychometric thresholds
}


def _shown(setting: str) -> str:
    """A SETTINGS entry as --help shows it (a list as its items, space-separated)."""
    value = SETTINGS[setting]
    values = value if isinstance(value, list) else [value]
    return " ".join(str(item) for item in values)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The settings from the command line; each option defaults to its SETTINGS entry."""
    parser = argparse.ArgumentParser(
        description="Compare human observers with vision models: model runs, tables, "
        "statistics, figures and report.html in one results folder.",
    )
    # (SETTINGS key, help, type, metavar); a list setting takes one or more values.
    options = [
        ("human_trials", "Human trial files or folders of them", Path, "PATH"),
        (
            "stimulus_sets",
            "Saved stimulus sets the humans saw, named as the experiments",
            Path,
            "PATH",
        ),
        ("models", "Models to run", str, "NAME"),
        ("mapping", "Decision mapping", str, None),
        ("out", "Results folder", Path, None),
        ("seed", "Seed of every resampling", int, None),
        ("n_boot", "Bootstrap resamples of the psychometric thresholds", int, None),
    ]
    for setting, words, kind, metavar in options:
        parser.add_argument(
            f"--{setting.replace('_', '-')}",
            nargs="+" if isinstance(SETTINGS[setting], list) else None,
            type=kind,
            default=SETTINGS[setting],
            metavar=metavar,
            help=f"{words} (default: {_shown(setting)}).",
        )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the pipeline with SETTINGS, as changed by the command line's options."""
    options = parse_arguments(argv)
    # Imported after the options are read, so that --help answers at once.
    from psychoalign.stimuli import StimulusSet
    from psychoalign.trials import find_trial_files, read_trials
    from psychoalign.workflows.compare import compare_humans_and_models

    files = find_trial_files(options.human_trials)
    humans = read_trials(files, paired=SETTINGS["paired"])
    result = compare_humans_and_models(
        humans,
        [StimulusSet.open(path) for path in options.stimulus_sets],
        options.out,
        models=options.models,
        mapping=options.mapping,
        curves=SETTINGS["curves"],
        level_label=SETTINGS["level_label"],
        inputs=files,
        n_boot=options.n_boot,
        seed=options.seed,
    )
    print(f"report: {result.report.resolve()}")


if __name__ == "__main__":
    main()
