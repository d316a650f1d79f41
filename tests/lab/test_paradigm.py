"""The building blocks of paradigms: planned trials, icon categories, presentation records."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psychoalign.datasets import stimulus_set
from psychoalign.lab.config import load_config
from psychoalign.lab.display import Shown
from psychoalign.lab.paradigm import icon_categories, planned_trial, presentation_record
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
    }


@pytest.mark.parametrize("blank", [None, Shown(onset=10.6, frames=0, dropped=0)])
def test_without_a_blank_the_stimulus_lasts_until_the_mask(blank):
    shown, mask = Shown(onset=10.5, frames=18, dropped=1), Shown(onset=10.8, frames=18, dropped=0)
    record = presentation_record(shown, mask, math.nan, blank=blank)
    assert record["fixation_frames"] == 0 and record["isi_frames"] == 0
    assert record["dropped_frames"] == 1
    assert record["stimulus_duration_s"] == pytest.approx(0.3)
