"""Reproduce the human-human figures of the model-vs-human benchmark, and add any models.

From the bundled human data of all 17 datasets (Geirhos et al. 2021): accuracy at every
condition (humans as mean and range), error consistency between humans at every
condition, the benchmark table, the shape bias on cue-conflict, and the HTML report. Model
trial files given on the command line (model-vs-human raw CSVs or psychoalign trial files,
e.g. the output of `psychoalign evaluate`) are drawn into every figure as lines. The
"all datasets" figures (benchmark table, consistency against accuracy) then average humans
and models over the datasets every model was run on only, named in their titles; use
--datasets to load only those human datasets in the first place.

    python analysis/reproduce_model_vs_human.py --out results/model-vs-human
    python analysis/reproduce_model_vs_human.py results/models/ --out results/mvh-with-models
    python analysis/reproduce_model_vs_human.py results/models/ --datasets edge silhouette
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from psychoalign import plots
from psychoalign.datasets import MODEL_VS_HUMAN_DATASETS, data_dir, load_model_vs_human
from psychoalign.metrics import accuracy, comparison_tables, shape_bias
from psychoalign.provenance import provenance, write_outputs
from psychoalign.report import build_report
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES, find_trial_files, read_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model trial files or folders")
    parser.add_argument("--out", type=Path, default=Path("results/model-vs-human"))
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=MODEL_VS_HUMAN_DATASETS,
        metavar="NAME",
        help="human datasets to load (default: all 17)",
    )
    arguments = parser.parse_args()

    humans = load_model_vs_human(arguments.datasets)
    model_files = find_trial_files(arguments.models) if arguments.models else []
    models = (
        read_trials(model_files, categories=MODEL_VS_HUMAN_CATEGORIES)
        if model_files
        else humans.iloc[:0]
    )
    trials = pd.concat([humans, models], ignore_index=True)
    if len(models):
        ran = sorted(set(models["experiment"]) & set(humans["experiment"]))
        print(
            f"all-datasets figures compare humans and models on the {len(ran)} of "
            f"{humans['experiment'].nunique()} datasets the models were run on: {', '.join(ran)}"
        )
    human_files = sorted(
        path
        for name in arguments.datasets or MODEL_VS_HUMAN_DATASETS
        for path in (data_dir() / "model-vs-human" / "human-raw" / name).rglob("*.csv")
    )
    record = provenance([*human_files, *model_files], {"preset": "model-vs-human", "seed": 0})

    tables = comparison_tables(trials, preset="model-vs-human", seed=0)
    write_outputs(tables, arguments.out / "tables", record)
    _figures(trials, tables, arguments.out / "figures", record)
    report = build_report(
        arguments.out, arguments.out / "report.html", title="model-vs-human: humans and models"
    )
    print(f"report: {report.resolve()}")


def _figures(
    trials: pd.DataFrame, tables: dict[str, pd.DataFrame], figures: Path, record: dict
) -> None:
    """The curves (datasets with several conditions), the benchmark and the shape bias."""
    parametric = trials[trials.groupby("experiment")["condition"].transform("nunique") > 1]
    if len(parametric):
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
    if len(cue_conflict):
        plots.shape_bias_by_category(
            shape_bias(cue_conflict, per_category=True), figures / "shape_bias", record=record
        )


if __name__ == "__main__":
    main()
