"""Compare your human observers with vision models, end to end. Copy this file and edit SETTINGS.

Steps: model observers on your stimulus sets (cached), accuracy, error consistency,
benchmark, Rajalingham consistency and image-level agreement with noise ceilings,
psychometric thresholds and a binomial mixed model on graded conditions, every figure
(PNG, PDF, SVG + CSV), and one self-contained report.html.

    python analysis/compare_humans_models.py

As shipped it runs on bundled data: the edge and silhouette humans of model-vs-human and
their real stimuli. Point SETTINGS at your own trial files (PsychoPy CSVs written by
`psychoalign run`, or any trial files) and stimulus sets (`psychoalign stimuli make`).
"""

from __future__ import annotations

from pathlib import Path

from psychoalign.datasets import data_dir
from psychoalign.stimuli import StimulusSet
from psychoalign.trials import find_trial_files, read_trials
from psychoalign.workflows.compare import compare_humans_and_models

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


def main() -> None:
    files = find_trial_files(SETTINGS["human_trials"])
    humans = read_trials(files, paired=SETTINGS["paired"])
    result = compare_humans_and_models(
        humans,
        [StimulusSet.open(path) for path in SETTINGS["stimulus_sets"]],
        SETTINGS["out"],
        models=SETTINGS["models"],
        mapping=SETTINGS["mapping"],
        curves=SETTINGS["curves"],
        level_label=SETTINGS["level_label"],
        inputs=files,
        n_boot=SETTINGS["n_boot"],
        seed=SETTINGS["seed"],
    )
    print(f"report: {result.report.resolve()}")


if __name__ == "__main__":
    main()
