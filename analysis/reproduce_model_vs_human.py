"""Reproduce the human-human figures of the model-vs-human benchmark, and add any models.

From the bundled human data of all 17 datasets (Geirhos et al. 2021): accuracy at every
condition (humans as mean and range), error consistency between humans at every
condition, the benchmark table, the shape bias on cue-conflict, and the HTML report. Model
trial files given on the command line (model-vs-human raw CSVs or psychoalign trial files,
e.g. the output of `psychoalign evaluate`) are drawn into every figure as lines.

    python analysis/reproduce_model_vs_human.py --out results/model-vs-human
    python analysis/reproduce_model_vs_human.py results/models/ --out results/mvh-with-models
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from psychoalign import plots
from psychoalign.datasets import data_dir, load_model_vs_human
from psychoalign.metrics import accuracy, comparison_tables, shape_bias
from psychoalign.provenance import provenance, write_outputs
from psychoalign.report import build_report
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES, find_trial_files, read_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model trial files or folders")
    parser.add_argument("--out", type=Path, default=Path("results/model-vs-human"))
    arguments = parser.parse_args()

    humans = load_model_vs_human()
    model_files = find_trial_files(arguments.models) if arguments.models else []
    models = (
        read_trials(model_files, categories=MODEL_VS_HUMAN_CATEGORIES)
        if model_files
        else humans.iloc[:0]
    )
    trials = pd.concat([humans, models], ignore_index=True)
    human_files = sorted((data_dir() / "model-vs-human" / "human-raw").rglob("*.csv"))
    record = provenance([*human_files, *model_files], {"preset": "model-vs-human", "seed": 0})

    tables = comparison_tables(trials, preset="model-vs-human", seed=0)
    write_outputs(tables, arguments.out / "tables", record)
    figures = arguments.out / "figures"
    parametric = trials[trials.groupby("experiment")["condition"].transform("nunique") > 1]
    plots.accuracy_by_level(
        accuracy(parametric), figures / "accuracy_by_condition", chance=1 / 16, record=record
    )
    plots.error_consistency_by_level(
        tables["error_consistency"].query("experiment in @parametric.experiment.unique()"),
        figures / "error_consistency_by_condition",
        record=record,
    )
    plots.benchmark_table(tables["benchmark"], figures / "benchmark_table", record=record)
    plots.consistency_vs_accuracy(
        tables["benchmark"], figures / "consistency_vs_accuracy", record=record
    )
    cue_conflict = trials[trials["experiment"] == "cue-conflict"]
    plots.shape_bias_by_category(
        shape_bias(cue_conflict, per_category=True), figures / "shape_bias", record=record
    )
    report = build_report(
        arguments.out, arguments.out / "report.html", title="model-vs-human: humans and models"
    )
    print(f"report: {report.resolve()}")


if __name__ == "__main__":
    main()
