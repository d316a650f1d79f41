"""End-to-end analyses on real stimuli: metamer recognisability across models."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.datasets import stimulus_set
from psychoalign.models import load_model
from psychoalign.stimuli.metamers import make_metamer_set
from psychoalign.workflows import evaluate


def test_metamers_of_one_model_classified_by_another(tmp_path):
    lite0 = load_model("efficientnet_lite0", device="cpu")
    source = stimulus_set("edge").subset(categories=["bear", "clock", "knife"])
    metamers, _, _ = make_metamer_set(
        source,
        lite0,
        ["_blocks.0", "_blocks.1"],
        tmp_path / "metamers",
        images=3,
        rounds=4,
        steps_per_round=50,
        step_size=16.0,
        progress=False,
    )
    random_net = load_model("mobilenet_v3_small", weights="random", device="cpu")
    evaluate([lite0, random_net], [metamers], tmp_path / "models", progress=False)

    result = CliRunner().invoke(
        app,
        [
            *("metamers", "recognisability", str(tmp_path / "models")),
            *("--stimuli", str(metamers.path), "--out", str(tmp_path / "results")),
        ],
    )
    assert result.exit_code == 0, result.output

    table = pd.read_csv(tmp_path / "results" / "metamer_recognisability.csv")
    trials = pd.concat(pd.read_csv(path) for path in (tmp_path / "models").rglob("trials.csv"))
    valid = metamers.manifest.set_index("stimulus")["valid"] == "True"
    kept = trials[trials.stimulus.map(valid)]
    expected = kept.groupby(["observer", "condition"])["correct"].mean()
    got = table.set_index(["group", "condition"])["accuracy"]
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )
    assert set(table.group) == {"efficientnet_lite0", "mobilenet_v3_small-random"}
    assert set(table.metamer_model) == {"efficientnet_lite0"}
    assert set(table.condition) >= {"natural", "_blocks.1"}

    # a valid metamer has, by definition, its model's decision on the natural image
    lite0_trials = kept[kept.observer == "efficientnet_lite0"]
    natural = lite0_trials[lite0_trials.condition == "natural"].set_index("image")["response"]
    matched = lite0_trials[lite0_trials.condition != "natural"]
    assert len(matched) > 0
    assert (matched.response.to_numpy() == natural.loc[matched.image].to_numpy()).all()

    figure = tmp_path / "results" / "metamer_recognisability_figure"
    assert figure.with_suffix(".png").is_file() and figure.with_suffix(".csv").is_file()
    sidecar = json.loads((tmp_path / "results" / "metamer_recognisability.json").read_text())
    assert sidecar["stimulus_set"]["checksum"] == metamers.checksum
    assert sidecar["parameters"] == {"include_failed": False, "n_boot": 2000, "seed": 0}
