from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from psychoalign import plots
from psychoalign.errors import TrialDataError
from psychoalign.metrics import (
    accuracy,
    behavioural_consistency,
    benchmark,
    error_consistency,
    shape_bias,
)
from psychoalign.workflows.compare import curve_trials

MODEL = "efficientnet_lite0"


def _written(stem) -> pd.DataFrame:
    for suffix in ("png", "pdf", "svg", "csv", "json"):
        path = stem.with_name(f"{stem.name}.{suffix}")
        assert path.is_file() and path.stat().st_size > 0, path
    sidecar = json.loads(stem.with_name(f"{stem.name}.json").read_text())
    assert sidecar["title"] and sidecar["caption"] and sidecar["size_inches"][0] in (3.5, 7.2)
    # every text at the house sizes (7 pt, ticks and legends 6 pt), none at matplotlib's
    sizes = re.findall(r"font-size: ([\d.]+)px", stem.with_name(f"{stem.name}.svg").read_text())
    assert sizes and {float(size) for size in sizes} <= {6.0, 7.0}
    return pd.read_csv(
        stem.with_name(f"{stem.name}.csv"),
        keep_default_na=False,
        na_values=[""],
        dtype={"condition": str},
    )


def test_accuracy_by_level_with_the_human_band(tmp_path, real_trials):
    noise = real_trials[real_trials.experiment == "uniform-noise"]
    table = plots.accuracy_by_level(
        accuracy(noise), tmp_path / "noise", chance=1 / 16, level_label="Noise width"
    )
    written = _written(tmp_path / "noise")
    assert len(written) == len(table) == 8
    per_human = noise.groupby(["condition", "observer"]).correct.mean().unstack()
    band = written.set_index("condition")
    for condition in ("0.00", "0.35", "0.90"):
        row = band.loc[condition]
        assert row.accuracy == pytest.approx(per_human.loc[condition].mean())
        assert (row.low, row.high) == (
            pytest.approx(per_human.loc[condition].min()),
            pytest.approx(per_human.loc[condition].max()),
        )
    assert written.x.tolist() == list(range(8))


def test_accuracy_of_the_model_on_the_real_sets(tmp_path, real_trials):
    sets = real_trials[real_trials.experiment.isin(["edge", "silhouette"])]
    table = plots.accuracy_by_level(accuracy(sets), tmp_path / "sets")
    model = table[table.series == MODEL].set_index("experiment")
    expected = sets[sets.observer == MODEL].groupby("experiment").correct.mean()
    assert model.accuracy.to_dict() == pytest.approx(expected.to_dict())
    assert (model.low < model.accuracy).all() and (
        model.accuracy < model.high
    ).all()  # Wilson interval


def test_error_consistency_band_and_model_lines(tmp_path, real_trials):
    sets = real_trials[real_trials.experiment.isin(["edge", "silhouette"])]
    kappa = error_consistency(sets)
    plots.error_consistency_by_level(kappa, tmp_path / "kappa")
    written = _written(tmp_path / "kappa").set_index(["experiment", "series"])
    humans = kappa[(kappa.kind_1 == "human") & (kappa.kind_2 == "human")]
    assert written.loc[("edge", "humans"), "kappa"] == pytest.approx(
        humans[humans.experiment == "edge"].kappa.mean()
    )
    assert written.loc[("edge", "humans"), "n_pairs"] == 45
    assert written.loc[("silhouette", MODEL), "n_pairs"] == 10


def test_consistency_bars_draw_the_noise_ceiling(tmp_path, real_trials):
    sets = real_trials[real_trials.experiment.isin(["edge", "silhouette"])]
    table = pd.concat(
        [behavioural_consistency(sets, metric, n_splits=20) for metric in ("O2", "I2n")],
        ignore_index=True,
    )
    plots.consistency_bars(table, tmp_path / "bars")
    written = _written(tmp_path / "bars")
    assert set(written.panel) == {"Category level", "Image level"} and len(written) == 4
    merged = written.merge(table, on=["metric", "experiment", "observer"])
    np.testing.assert_allclose(merged.ceiling, np.sqrt(merged.reference_reliability))
    np.testing.assert_allclose(merged.correlation, merged.raw_correlation)


def test_consistency_against_accuracy(tmp_path, real_trials):
    table = benchmark(real_trials[real_trials.experiment.isin(["edge", "silhouette"])])
    plots.consistency_vs_accuracy(table, tmp_path / "scatter", experiment="silhouette")
    written = _written(tmp_path / "scatter")
    assert len(written) == 11 and (written.observer_kind == "human").sum() == 10
    model = written[written.observer == MODEL].iloc[0]
    assert model.consistency == pytest.approx(
        table.query("observer == @MODEL and experiment == 'silhouette'").error_consistency.item()
    )


def test_confusion_matrices_are_row_proportions(tmp_path, real_trials):
    plots.confusion_matrices(
        real_trials, tmp_path / "confusion", experiment="silhouette", model=MODEL
    )
    written = _written(tmp_path / "confusion")
    humans = real_trials[
        (real_trials.experiment == "silhouette") & (real_trials.observer_kind == "human")
    ]
    expected = pd.crosstab(humans.category, humans.response, normalize="index")
    cell = written.query(
        "observer == 'humans' and category == 'bear' and response == 'dog'"
    ).proportion.item()
    assert cell == pytest.approx(expected.loc["bear", "dog"])
    sums = written.groupby(["observer", "category"]).proportion.sum()
    assert (sums <= 1 + 1e-12).all() and len(written) == 2 * 16 * 16
    sidecar = json.loads((tmp_path / "confusion.json").read_text())
    pivot = written.pivot_table(
        index=["category", "response"], columns="observer", values="proportion"
    )
    assert sidecar["correlation_all_cells"] == pytest.approx(
        np.corrcoef(pivot.humans, pivot[MODEL])[0, 1]
    )


def test_benchmark_table_figure(tmp_path, real_trials):
    table = benchmark(real_trials[real_trials.experiment.isin(["edge", "silhouette"])])
    plots.benchmark_table(table, tmp_path / "bench")
    written = _written(tmp_path / "bench")
    assert written.observer.tolist() == [
        MODEL,
        "humans (mean of 10)",
    ]  # the same 10 people did both
    humans = table.query("experiment == 'all' and observer_kind == 'human'")
    assert written.error_consistency.iloc[1] == pytest.approx(humans.error_consistency.mean())


def test_shape_bias_by_category(tmp_path, real_trials):
    cue = real_trials[real_trials.experiment == "cue-conflict"]
    per_category = shape_bias(cue, per_category=True)
    plots.shape_bias_by_category(per_category, tmp_path / "shape")
    written = _written(tmp_path / "shape").set_index(["series", "category"])
    assert written.loc[("humans", "all"), "shape_bias"] == pytest.approx(
        shape_bias(cue).shape_bias.mean()
    )
    knife = per_category[per_category.category == "knife"].shape_bias
    assert written.loc[("humans", "knife"), "low"] == pytest.approx(knife.min())


def test_pooled_curves_keep_each_model_set_apart(real_trials):
    pooled = curve_trials(real_trials, {"line drawings": ["edge", "silhouette"]})
    assert set(pooled.experiment) == {"line drawings"}
    assert {f"{MODEL} (edge)", f"{MODEL} (silhouette)"} <= set(pooled.observer)
    assert "subject-01" in set(pooled.observer)


def test_an_empty_table_is_refused_in_one_sentence(tmp_path):
    empty = pd.DataFrame(
        columns=["experiment", "condition", "observer", "observer_kind", "accuracy"]
    )
    with pytest.raises(TrialDataError, match=r"^accuracy: the table has no rows"):
        plots.accuracy_by_level(empty, tmp_path / "accuracy")
    models_only = pd.DataFrame(
        {
            "experiment": ["edge"],
            "condition": ["0"],
            "observer_1": ["a"],
            "observer_2": ["b"],
            "kind_1": ["model"],
            "kind_2": ["model"],
            "kappa": [0.5],
        }
    )
    with pytest.raises(TrialDataError, match=r"^kappa: the table has no row with a human"):
        plots.error_consistency_by_level(models_only, tmp_path / "kappa")
    assert not list(tmp_path.iterdir())
