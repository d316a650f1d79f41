"""Metamer workflows: a metamer stimulus set, and recognisability across models."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.datasets import stimulus_set
from psychoalign.models import load_model
from psychoalign.stimuli import StimulusSet, StimulusSetError, read_image
from psychoalign.workflows import evaluate
from psychoalign.workflows.metamers import _kept_steps, _source_rows, make_metamer_set

LAYER = "_blocks.1"


@pytest.fixture(scope="module")
def edge() -> StimulusSet:
    return stimulus_set("edge")


def test_make_metamer_set_writes_a_verifiable_set_with_flags(tmp_path, lite0, edge):
    source = edge.subset(categories=["bear", "clock", "knife"])
    made, validation, losses = make_metamer_set(
        source,
        lite0,
        ["_blocks.0", LAYER],
        tmp_path / "metamers",
        images=2,
        rounds=1,
        steps_per_round=3,
        step_size=4.0,
        progress=False,
    )
    assert made.verify().empty and StimulusSet.open(made.path).verify().empty
    assert made.conditions == ["natural", "_blocks.0", LAYER]
    manifest = made.manifest
    assert manifest.columns.tolist() == [
        "stimulus",
        "image",
        "category",
        "condition",
        "sha256",
        "model",
        "layer",
        "valid",
        "seed",
        "source",
    ]
    # images=2 of three categories: two categories, one image each (seeded round-robin)
    assert manifest.stimulus.tolist() == [
        "natural/clock/clock9.png",
        "natural/knife/knife10.png",
        "_blocks.0/clock/clock9.png",
        "_blocks.0/knife/knife10.png",
        f"{LAYER}/clock/clock9.png",
        f"{LAYER}/knife/knife10.png",
    ]
    assert made.info["made_with"]["images"] == ["clock/clock9.png", "knife/knife10.png"]
    natural = manifest.query("condition == 'natural'")
    assert (natural.valid == "True").all() and (natural.layer == "").all()
    chosen = source.manifest.set_index("stimulus").loc[natural.source, "sha256"]
    assert natural.sha256.tolist() == chosen.tolist()  # copied as is
    metamers = manifest.query("condition != 'natural'")
    assert (metamers.layer == metamers.condition).all() and (metamers.seed == "0").all()
    assert (metamers.model == "efficientnet_lite0").all()
    # 3 steps cannot make a metamer: every one is flagged, and every one is kept.
    assert metamers.valid.tolist() == validation.valid.astype(str).tolist()
    assert not validation.valid.any() and len(metamers) == 4
    assert validation.stimulus.tolist() == metamers.stimulus.tolist()
    assert {"image", "category", "model", "spearman", "null_max"} <= set(validation.columns)
    # The CSVs sit in the set folder, unlisted, so they leave verify and the checksum alone.
    pd.testing.assert_frame_equal(pd.read_csv(made.path / "validation.csv"), validation)
    pd.testing.assert_frame_equal(pd.read_csv(made.path / "losses.csv"), losses)
    null = pd.read_csv(made.path / "null.csv")
    assert null.columns.tolist() == ["model", "layer", "rho"]
    assert len(null) == 2 * 435  # 30 source images: all 435 pairs, per layer
    assert losses.columns.tolist() == ["stimulus", "layer", "step", "loss"]
    assert losses.step.unique().tolist() == [0, 1, 2, 3]  # 3 steps, then after the last
    assert made.info["made_with"]["layers"] == ["_blocks.0", LAYER]
    assert made.info["made_with"]["tool"] == "psychoalign.workflows.metamers.make_metamer_set"
    assert list(made.info["files"]) == ["validation.csv", "losses.csv", "null.csv"]
    for file, digest in made.info["files"].items():
        assert hashlib.sha256((made.path / file).read_bytes()).hexdigest() == digest
    pixels = read_image(made.file(f"{LAYER}/clock/clock9.png"))
    assert pixels.shape == (224, 224, 3)


def test_images_are_sampled_round_robin_across_categories_with_the_seed():
    silhouette = stimulus_set("silhouette")  # 16 categories x 10 images, sorted
    chosen = _source_rows(silhouette, 16)
    assert sorted(row.category for row in chosen) == silhouette.categories  # one of each
    assert len({row.stimulus for row in _source_rows(silhouette, 20)}) == 20
    counts = pd.Series([row.category for row in _source_rows(silhouette, 20)]).value_counts()
    assert sorted(counts.tolist()) == [1] * 12 + [2] * 4
    again = [row.stimulus for row in _source_rows(silhouette, 16)]
    assert again == [row.stimulus for row in chosen]  # the same seed, the same images
    other = [row.stimulus for row in _source_rows(silhouette, 16, seed=1)]
    assert other != again


def test_losses_of_long_runs_are_kept_every_tenth_step():
    assert _kept_steps(5).tolist() == [0, 1, 2, 3, 4]
    kept = _kept_steps(24000)
    assert kept[:3].tolist() == [0, 10, 20] and kept[-2:].tolist() == [23990, 23999]


def test_bad_metamer_set_requests_are_refused_before_any_synthesis(lite0, edge, tmp_path):
    with pytest.raises(StimulusSetError, match=r"^layers: 'natural' is the condition"):
        make_metamer_set(edge, lite0, ["natural"], tmp_path / "x", progress=False)
    with pytest.raises(StimulusSetError, match=r"^layers: '_blocks\.1' is given twice\.$"):
        make_metamer_set(edge, lite0, [LAYER, "_blocks.0", LAYER], tmp_path / "x", progress=False)
    with pytest.raises(StimulusSetError, match=r"^images: 0 must be between 1 and the 160"):
        make_metamer_set(edge, lite0, [LAYER], tmp_path / "x", images=0, progress=False)
    with pytest.raises(StimulusSetError, match=r"^null_pairs: 0 must be a whole number of at le"):
        make_metamer_set(edge, lite0, [LAYER], tmp_path / "x", null_pairs=0, progress=False)
    with pytest.raises(StimulusSetError, match=r"^rounds: 0 must be a whole number"):
        make_metamer_set(edge, lite0, [LAYER], tmp_path / "x", rounds=0, progress=False)
    assert not (tmp_path / "x").exists()
    (tmp_path / "taken").mkdir()
    with pytest.raises(StimulusSetError, match=r"taken: already exists; choose another"):
        make_metamer_set(edge, lite0, [LAYER], tmp_path / "taken", progress=False)


def test_metamers_of_one_model_classified_by_another(tmp_path, lite0):
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
    edge = source.write(tmp_path / "edge", name="edge")  # a run on another set, left out
    evaluate([lite0], [edge], tmp_path / "models", progress=False)

    result = CliRunner().invoke(
        app,
        [
            *("metamers", "recognisability", str(tmp_path / "models")),
            *("--stimuli", str(metamers.path), "--out", str(tmp_path / "results")),
        ],
    )
    assert result.exit_code == 0, result.output

    left_out = f"{tmp_path / 'models' / 'edge' / 'efficientnet_lite0'} (ran on 'edge')"
    assert f"note: left out {left_out}" in " ".join(result.output.split())
    table = pd.read_csv(tmp_path / "results" / "metamer_recognisability.csv")
    runs = (tmp_path / "models" / "metamers").rglob("trials.csv")
    trials = pd.concat(pd.read_csv(path) for path in runs)
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
    assert sidecar["left_out_runs"] == [left_out]
    only_edge = CliRunner().invoke(
        app,
        [
            *("metamers", "recognisability", str(tmp_path / "models" / "edge")),
            *("--stimuli", str(metamers.path), "--out", str(tmp_path / "nothing")),
        ],
    )
    assert only_edge.exit_code == 2 and "Traceback" not in only_edge.output
    assert "none of its 1 model runs is on the metamer set 'metamers'" in " ".join(
        only_edge.output.split()
    )
