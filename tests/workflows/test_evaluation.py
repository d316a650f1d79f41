from __future__ import annotations

import json

import pandas as pd
import pytest

from psychoalign.datasets import load_model_vs_human, stimulus_set
from psychoalign.metrics import error_consistency
from psychoalign.models import ModelError, load_model
from psychoalign.trials import read_trials
from psychoalign.workflows import evaluate


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sets")
    edge = (
        stimulus_set("edge").subset(categories=["bear", "bird"]).write(folder / "edge", name="edge")
    )
    silhouette = (
        stimulus_set("silhouette")
        .subset(categories=["bear", "bird"])
        .write(folder / "silhouette", name="silhouette")
    )
    return [edge, silhouette]


def test_every_model_on_every_set_then_skipped(tmp_path, small_sets, lite0):
    random_net = load_model("mobilenet_v3_small", weights="random", device="cpu")
    units = evaluate([lite0, random_net], small_sets, tmp_path, progress=False)
    assert units[["model", "stimulus_set", "status"]].values.tolist() == [
        ["efficientnet_lite0", "edge", "ran"],
        ["efficientnet_lite0", "silhouette", "ran"],
        ["mobilenet_v3_small-random", "edge", "ran"],
        ["mobilenet_v3_small-random", "silhouette", "ran"],
    ]
    folder = tmp_path / "edge" / "efficientnet_lite0"
    assert sorted(p.name for p in folder.iterdir()) == [
        "probabilities.csv",
        "run.json",
        "trials.csv",
    ]
    record = json.loads((folder / "run.json").read_text())
    assert record["stimulus_set"]["checksum"] == small_sets[0].checksum
    assert record["weights_sha256"] == lite0.weights_sha256 and record["key"] == units.key[0]
    again = evaluate([lite0, random_net], small_sets, tmp_path, progress=False)
    assert (again.status == "skipped").all()
    pd.testing.assert_series_equal(again.accuracy, units.accuracy)
    forced = evaluate([lite0], small_sets[:1], tmp_path, force=True, progress=False)
    assert forced.status.tolist() == ["ran"]
    summed = evaluate([lite0], small_sets[:1], tmp_path, mapping="imagenet-16-sum", progress=False)
    assert summed.status.tolist() == ["ran"] and summed.model.tolist() == [
        "efficientnet_lite0+imagenet-16-sum"
    ]
    assert not [p for p in tmp_path.rglob(".*")]  # no staging folders left


def test_outputs_feed_the_comparison_with_human_data_unchanged(tmp_path, small_sets, lite0):
    evaluate([lite0], small_sets[:1], tmp_path, progress=False)
    humans = load_model_vs_human("edge").query("category in ['bear', 'bird']")
    model_trials = read_trials(tmp_path)  # the folder: probabilities.csv is not a trial file
    assert model_trials.observer.unique().tolist() == ["efficientnet_lite0"]
    table = error_consistency(pd.concat([humans, model_trials], ignore_index=True))
    assert (
        len(table.query("observer_2 == 'efficientnet_lite0' or observer_1 == 'efficientnet_lite0'"))
        == 10
    )


def test_a_changed_set_is_run_again(tmp_path, small_sets, lite0):
    evaluate([lite0], small_sets[:1], tmp_path, progress=False)
    fewer = small_sets[0].subset(categories=["bear"]).write(tmp_path / "sets" / "edge", name="edge")
    units = evaluate([lite0], [fewer], tmp_path / "out", progress=False)
    assert units.status.tolist() == ["ran"] and units.n_trials.tolist() == [10]


def test_weights_apply_to_one_model_only(tmp_path, small_sets):
    with pytest.raises(ModelError, match=r"weights: a weights file applies to a single model"):
        evaluate(
            ["efficientnet_lite0", "alexnet"], small_sets, tmp_path, weights="x.pth", progress=False
        )
