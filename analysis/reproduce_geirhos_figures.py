"""Reproduce published figures of Geirhos et al. 2018 and 2019 from their raw trial files.

- texture-vs-shape (2019, Figure 4): shape bias per shape category of the 10 humans and
  of AlexNet, GoogLeNet and VGG-16 on the cue-conflict stimuli (humans 0.96; AlexNet
  0.429, GoogLeNet 0.312, VGG-16 0.172), from ``texture-vs-shape/raw-data``;
- generalisation (2018, the noise experiment): accuracy against uniform-noise width of the
  human observers and of GoogLeNet, VGG-19 and ResNet-152 scored by the summed 16-way
  decision the paper's tables use (``object_response_sums``), from
  ``generalisation-humans-dnns``.

Each figure is written with the CSV behind it, and the shape-bias and accuracy tables
with their provenance, under ``--out``; the data folder defaults to ``../shared/data``.

    python analysis/reproduce_geirhos_figures.py --out results/geirhos
"""

from __future__ import annotations

import argparse
from pathlib import Path

from psychoalign import plots
from psychoalign.metrics import accuracy, cue_conflict_experiments, shape_bias
from psychoalign.provenance import provenance, write_outputs
from psychoalign.trials import find_trial_files, read_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("results/geirhos"))
    arguments = parser.parse_args()
    figures = arguments.out / "figures"

    texture_files = find_trial_files(arguments.data / "texture-vs-shape" / "raw-data")
    trials = read_trials(texture_files)
    conflicts = trials[trials["experiment"].isin(cue_conflict_experiments(trials))]
    record = provenance(texture_files, {"figure": "Geirhos et al. 2019, Figure 4"})
    write_outputs({"shape_bias": shape_bias(conflicts)}, arguments.out / "texture-vs-shape", record)
    plots.shape_bias_by_category(
        shape_bias(conflicts, per_category=True), figures / "shape_bias_2019", record=record
    )

    noise = arguments.data / "generalisation-humans-dnns"
    noise_files = find_trial_files(
        [noise / "human-raw" / "noise-experiment", noise / "cnn-raw" / "noise-experiment"]
    )
    trials = read_trials(noise_files, response_column="object_response_sums")
    record = provenance(
        noise_files,
        {"figure": "Geirhos et al. 2018, noise experiment", "response_column": "sums"},
    )
    table = accuracy(trials)
    write_outputs({"accuracy": table}, arguments.out / "noise-experiment", record)
    plots.accuracy_by_level(
        table,
        figures / "noise_accuracy_2018",
        chance=1 / 16,
        level_label="Uniform noise width",
        record=record,
    )
    print(f"figures: {figures.resolve()}")


if __name__ == "__main__":
    main()
