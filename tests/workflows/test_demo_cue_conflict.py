"""The demo with the cue-conflict stimuli fetched: the model's shape bias beside the humans'."""

from __future__ import annotations

import pandas as pd
import pytest

from psychoalign.datasets import load_model_vs_human
from psychoalign.workflows import compare_humans_and_models, fetch_stimulus_set
from psychoalign.workflows.demo import published_demo_sets
from support import SHARED_DATA, serve

CUE_CONFLICT = SHARED_DATA / "texture-vs-shape" / "stimuli" / "cue-conflict"


@pytest.fixture
def fetched(tmp_path, monkeypatch):
    """cue-conflict fetched from a loopback mirror into an empty cache."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "style-transfer-preprocessed-512").symlink_to(CUE_CONFLICT, target_is_directory=True)
    monkeypatch.setenv("PSYCHOALIGN_CACHE", str(tmp_path / "cache"))
    with serve(mirror) as (url, _):
        return fetch_stimulus_set("cue-conflict", base_url=url, progress=False)


def test_the_model_shape_bias_joins_the_humans(fetched, tmp_path):
    sets, notes = published_demo_sets()
    assert [s.name for s in sets] == ["cue-conflict"] and notes == []
    humans = load_model_vs_human("cue-conflict")
    # Three shape categories (240 images) keep the model run short; humans saw all 1,280.
    shapes = sets[0].subset(categories=["bird", "cat", "knife"])
    result = compare_humans_and_models(
        humans, [shapes], tmp_path / "results", n_boot=0, progress=False
    )
    bias = result.tables["shape_bias"].set_index("observer")
    assert len(bias) == 11 and bias.loc["efficientnet_lite0", "observer_kind"] == "model"
    # The model's shape bias from its own trials, by the definition: shape / (shape + texture)
    # over the trials whose shape and texture categories differ.
    model = pd.read_csv(
        tmp_path / "results" / "models" / "cue-conflict" / "efficientnet_lite0" / "trials.csv"
    )
    names = model.image.str.removesuffix(".png").str.split("-", expand=True)
    shape = names[0].str.rstrip("0123456789")
    texture = names[1].str.rstrip("0123456789")
    conflict = shape != texture
    n_shape = (model.response[conflict] == shape[conflict]).sum()
    n_texture = (model.response[conflict] == texture[conflict]).sum()
    assert conflict.sum() == 225 and bias.loc["efficientnet_lite0", "n_trials"] == 225
    expected = n_shape / (n_shape + n_texture)
    assert bias.loc["efficientnet_lite0", "shape_bias"] == pytest.approx(expected, abs=1e-12)
    report = (tmp_path / "results" / "report.html").read_text()
    assert f"efficientnet_lite0's shape bias is {expected:.2f}; humans 0.96" in report
