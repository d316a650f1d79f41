"""Practice trials show images the main trials never show, and are labelled ``practice``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from psychoalign.datasets import stimulus_set
from psychoalign.lab.config import load_config
from psychoalign.lab.errors import LabError
from psychoalign.lab.loading import load_paradigm, plan_session
from psychoalign.lab.practice import practice_images
from psychoalign.stimuli import SetWriter, make_stimulus_set

LEVELS = ["0.00", "0.35"]


@pytest.fixture(scope="module")
def noise_set(tmp_path_factory):
    """Two noise levels of two real silhouette categories (20 images, 40 stimuli)."""
    source = stimulus_set("silhouette").subset(categories=["cat", "knife"])
    out = tmp_path_factory.mktemp("sets") / "noise"
    return make_stimulus_set(source, "uniform-noise", out, levels=LEVELS, progress=False)


def _planned(paradigm, stimuli, **settings):
    config = {**load_config(paradigm), "practice_trials": 4, "seed": 3, **settings}
    module = load_paradigm(paradigm)
    return plan_session(paradigm, module, config, stimuli, participant="05", session=1)


def _animals():
    config = load_config("rapid_categorization")
    return stimulus_set("silhouette").relabel(config["stimuli"]["relabel"]["categories"])


@pytest.mark.parametrize("paradigm", ["noise_degraded", "metamer_recognition"])
def test_no_practice_image_is_a_main_trial(paradigm, noise_set):
    planned = _planned(paradigm, noise_set, catch_every=0)
    practised = {t["image"] for t in planned.practice}
    assert len(planned.practice) == 4 and practised <= set(planned.practice_images)
    assert len(planned.practice_images) == 4
    assert not practised & {t["image"] for t in planned.trials}
    assert {t["trial_type"] for t in planned.practice} == {"practice"}
    assert {t["trial_type"] for t in planned.trials} == {"main"}
    # held out whole images, spread over both categories
    assert {noise_set.manifest.set_index("image").category[i].iloc[0] for i in practised} == {
        "cat",
        "knife",
    }


def test_noise_degraded_still_shows_each_other_image_once(noise_set):
    planned = _planned("noise_degraded", noise_set)
    images = [t["image"] for t in planned.trials]
    assert len(images) == len(set(images)) == 20 - 4


def test_rapid_categorization_practises_on_held_out_images():
    animals = _animals()
    planned = _planned("rapid_categorization", animals)
    assert len(planned.trials) == len(animals) - 4
    assert not set(planned.practice_images) & {t["image"] for t in planned.trials}
    assert {t["image"] for t in planned.practice} == set(planned.practice_images)
    assert {t["trial_type"] for t in planned.practice} == {"practice"}


def test_every_session_holds_out_the_same_images(noise_set):
    first = _planned("noise_degraded", noise_set, seed=1).practice_images
    assert first == _planned("noise_degraded", noise_set, seed=2).practice_images


def _marked_set(noise_set, target, marks):
    """``noise_set`` written again with a ``practice`` column taken from ``marks(row)``."""
    with SetWriter(target) as writer:
        for row in noise_set.manifest.to_dict("records"):
            data = noise_set.file(row["stimulus"]).read_bytes()
            writer.add({**row, "practice": marks(row)}, data)
        return writer.commit({"name": "marked"})


def test_a_practice_column_names_the_practice_rows(noise_set, tmp_path):
    chosen = sorted(noise_set.manifest.image.unique())[:2]
    marked = _marked_set(
        noise_set, tmp_path / "marked", lambda r: r["image"] in chosen and r["condition"] == "0.00"
    )
    planned = _planned("noise_degraded", marked)
    assert planned.practice_images == chosen
    assert sorted(t["stimulus"] for t in planned.practice) == sorted(
        marked.manifest.stimulus[
            marked.manifest.image.isin(chosen) & (marked.manifest.condition == "0.00")
        ]
    )
    assert len(planned.trials) == 18 and not set(chosen) & {t["image"] for t in planned.trials}


def test_a_bad_practice_value_is_named(noise_set, tmp_path):
    marked = _marked_set(noise_set, tmp_path / "bad", lambda r: "maybe")
    with pytest.raises(LabError) as refused:
        practice_images(marked, 2)
    assert str(refused.value) == (
        f"{marked.path / 'manifest.csv'}: row 1, column 'practice': 'maybe' is not true or false."
    )


def test_holding_out_every_image_is_refused(noise_set):
    with pytest.raises(LabError) as refused:
        practice_images(noise_set, 20)
    assert str(refused.value) == (
        "practice_trials: holding out 20 practice images would leave none of the 20 images "
        f"of stimulus set '{noise_set.name}' for the main trials."
    )


def test_a_session_records_and_keeps_its_practice_apart(run_lab, tmp_path, fast_config):
    result = run_lab(
        "noise_degraded",
        "--participant",
        "03",
        "--simulate",
        "random",
        "--trials",
        "2",
        "--data-dir",
        str(tmp_path),
        "--config",
        str(fast_config),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [data] = [p for p in (tmp_path / "noise_degraded").glob("*.csv") if "practice" not in p.name]
    record = json.loads(data.with_suffix(".json").read_text())
    practice = pd.read_csv(data.with_name(f"{data.stem}_practice.csv"))
    assert (practice.trial_type == "practice").all() and len(practice) == 2
    assert set(practice.image) <= set(record["practice_images"])
    assert not set(record["practice_images"]) & {t["image"] for t in record["plan"]}
