"""The paradigm contract and its building blocks: planned trials, icons, presentation records."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psychoalign.datasets import stimulus_set
from psychoalign.lab.config import PARADIGMS, load_config
from psychoalign.lab.display import Shown
from psychoalign.lab.errors import LabError
from psychoalign.lab.loading import load_paradigm, trial_columns
from psychoalign.lab.paradigm import (
    Paradigm,
    check_paradigm,
    empty_state,
    icon_categories,
    planned_trial,
    presentation_record,
)
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES


def test_a_planned_trial_carries_the_row_the_fields_and_the_next_seed():
    row = next(stimulus_set("edge").manifest.iloc[3:4].itertuples(index=False))
    rng = np.random.default_rng(11)
    trial = planned_trial(row, rng, trial_type="catch", block=2, fixation_fraction=0.25)
    expected_seed = int(np.random.default_rng(11).integers(2**31))
    assert trial == {
        "stimulus": "airplane/airplane3.png",
        "image": row.image,
        "condition": row.condition,
        "category": "airplane",
        "trial_type": "catch",
        "block": 2,
        "fixation_fraction": 0.25,
        "seed": expected_seed,
    }
    assert list(trial)[-1] == "seed"


def test_the_seed_is_drawn_after_the_draws_made_for_the_fields():
    row = next(stimulus_set("edge").manifest.iloc[:1].itertuples(index=False))
    rng = np.random.default_rng(5)
    trial = planned_trial(row, rng, fixation_fraction=float(rng.random()))
    reference = np.random.default_rng(5)
    assert trial["fixation_fraction"] == reference.random()
    assert trial["seed"] == int(reference.integers(2**31))


def test_icon_categories_read_the_grid_row_by_row():
    categories = icon_categories(load_config("noise_degraded"))
    assert len(categories) == 16 and sorted(categories) == sorted(MODEL_VS_HUMAN_CATEGORIES)
    config = {"response": {"icons": [["cat", "dog"], ["car", "boat"]]}}
    assert icon_categories(config) == ["cat", "dog", "car", "boat"]


def test_a_presentation_record_sums_dropped_frames_and_times_the_stimulus_to_the_blank():
    fixation = Shown(onset=10.000, frames=30, dropped=1)
    shown = Shown(onset=10.500, frames=12, dropped=0)
    blank = Shown(onset=10.700, frames=1, dropped=0)
    mask = Shown(onset=10.717, frames=12, dropped=2)
    record = presentation_record(shown, mask, 11.0, fixation=fixation, blank=blank)
    assert record == {
        "fixation_frames": 30,
        "stim_frames": 12,
        "isi_frames": 1,
        "mask_frames": 12,
        "dropped_frames": 3,
        "onset_s": 10.5,
        "mask_onset_s": 10.717,
        "response_onset_s": 11.0,
        "stimulus_duration_s": pytest.approx(0.2),
        "timing_flag": False,
    }


@pytest.mark.parametrize("blank", [None, Shown(onset=10.6, frames=0, dropped=0)])
def test_without_a_blank_the_stimulus_lasts_until_the_mask(blank):
    shown, mask = Shown(onset=10.5, frames=18, dropped=1), Shown(onset=10.8, frames=18, dropped=0)
    record = presentation_record(shown, mask, math.nan, blank=blank)
    assert record["fixation_frames"] == 0 and record["isi_frames"] == 0
    assert record["dropped_frames"] == 1
    assert record["stimulus_duration_s"] == pytest.approx(0.3)


COMPLETE = """
import numpy as np

COLUMNS = ["first_in_block"]
RT_REFERENCE = "image onset"


def plan(stimuli, config, participant_index, rng):
    return []


def present(lab, trial):
    return {}


def response_categories(config, stimuli):
    return []


def initial_state(completed):
    return {}
"""


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_the_shipped_paradigms_provide_the_contract(paradigm):
    module = load_paradigm(paradigm)
    assert isinstance(module, Paradigm)
    assert check_paradigm(module, paradigm) is module
    assert trial_columns(module)[-len(module.COLUMNS) :] == module.COLUMNS


def _script(tmp_path, monkeypatch, text: str, name: str = "broken"):
    monkeypatch.setenv("PSYCHOALIGN_EXPERIMENTS", str(tmp_path))
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return path


def test_a_complete_script_in_a_labs_folder_loads(tmp_path, monkeypatch):
    _script(tmp_path, monkeypatch, COMPLETE, name="minimal")
    module = load_paradigm("minimal")
    assert isinstance(module, Paradigm) and module.RT_REFERENCE == "image onset"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("def present(lab, trial):", "def shown(lab, trial):"), "defines no 'present'; a para"),
        (("def initial_state(completed):", "def start(completed):"), "defines no 'initial_state'"),
        (('RT_REFERENCE = "image onset"', ""), "defines no 'RT_REFERENCE'; a paradigm defines"),
        (("def plan(", "plan = 3\ndef _plan("), "'plan' is 3, but must be a function."),
        (('COLUMNS = ["first_in_block"]', "COLUMNS = 'first'"), "'COLUMNS' is 'first', but"),
        (('RT_REFERENCE = "image onset"', "RT_REFERENCE = 0"), "'RT_REFERENCE' is 0, but must"),
    ],
)
def test_an_incomplete_paradigm_is_refused_naming_file_and_member(
    tmp_path, monkeypatch, change, message
):
    path = _script(tmp_path, monkeypatch, COMPLETE.replace(*change))
    with pytest.raises(LabError) as refused:
        load_paradigm("broken")
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)
    sentence = str(refused.value).removeprefix(f"{path}: ")
    assert sentence.endswith(".") and ". " not in sentence  # one sentence


def test_the_refusal_lists_every_member_of_the_contract(tmp_path, monkeypatch):
    _script(tmp_path, monkeypatch, "COLUMNS = []\n")
    with pytest.raises(LabError) as refused:
        load_paradigm("broken")
    assert str(refused.value).endswith(
        "defines no 'plan'; a paradigm defines plan, present, response_categories, "
        "initial_state, COLUMNS, RT_REFERENCE."
    )


def test_a_missing_script_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PSYCHOALIGN_EXPERIMENTS", str(tmp_path))
    with pytest.raises(LabError, match=r"experiment: there is no .*stroop\.py\."):
        load_paradigm("stroop")


def test_the_lab_a_paradigm_gets_has_typed_fields():
    from dataclasses import fields

    from psychoalign.lab.context import Lab

    annotations = {field.name: str(field.type) for field in fields(Lab)}
    assert "Any" not in {annotation for annotation in annotations.values()}
    assert annotations["display"] == "Display" and annotations["responses"] == "Responses"
    assert annotations["participant"] == "SimulatedParticipant | None"
    assert annotations["task_model"] == "ModelObserver | None"


def test_an_empty_state_is_kept_by_paradigms_without_one():
    assert empty_state(None) == {} and load_paradigm("noise_degraded").initial_state(None) == {}


def test_the_old_homes_of_the_runner_names_still_work():
    from psychoalign.lab import loading, paradigm, runner

    with pytest.warns(DeprecationWarning, match="moved to psychoalign.lab.paradigm"):
        old = runner.PRESENTATION_COLUMNS
    assert old is paradigm.PRESENTATION_COLUMNS
    assert runner.load_paradigm is loading.load_paradigm
    assert runner.default_stimuli is loading.default_stimuli
