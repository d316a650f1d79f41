"""The metamer manifest's rules on small hand-built manifests, and the old module path."""

from __future__ import annotations

import importlib

import pandas as pd
import pytest

from psychoalign.errors import ModelError, StimulusSetError, TrialDataError
from psychoalign.stimuli import derived_stimulus
from psychoalign.stimuli.metamer_sets import (
    NATURAL,
    distinct_layers,
    join_metamer_set,
    layer_conditions,
    metamer_stimulus,
    valid_metamers,
)


def _manifest() -> pd.DataFrame:
    """Two images, natural and at two layers of model ``net``; one metamer failed."""
    return pd.DataFrame(
        {
            "stimulus": [
                "natural/a.jpg",
                "natural/b.jpg",
                "l1/a.png",
                "l1/b.png",
                "l2/a.png",
                "l2/b.png",
            ],
            "condition": ["natural", "natural", "l1", "l1", "l2", "l2"],
            "model": ["net"] * 6,
            "valid": ["True", "True", "True", "False", "True", "True"],
        }
    )


def _trials(stimuli: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"stimulus": stimuli, "observer": "s1", "correct": True})


def test_the_valid_flag_is_read_from_the_manifest_text():
    manifest = pd.DataFrame({"valid": ["True", "False", "true", "1", "0", "", "yes", "TRUE"]})
    expected = [True, False, True, True, False, False, False, False]
    assert valid_metamers(manifest).tolist() == expected
    # read back from a CSV the flags are text; in memory they may still be bools
    assert valid_metamers(pd.DataFrame({"valid": [True, False]})).tolist() == [True, False]
    assert valid_metamers(pd.DataFrame({"valid": [None, float("nan")]})).tolist() == [False, False]


def test_natural_images_keep_their_file_and_metamers_are_pngs_in_a_layer_folder():
    assert NATURAL == "natural"
    assert metamer_stimulus(NATURAL, "cat/cat1.jpg") == "natural/cat/cat1.jpg"
    assert metamer_stimulus("_blocks.1", "cat/cat1.jpg") == "_blocks.1/cat/cat1.png"
    assert metamer_stimulus("features.10", "dog1.png") == "features.10/dog1.png"
    # the one naming rule of derived stimuli, shared with degraded sets
    assert derived_stimulus("0.35", "cat/cat1.JPEG") == "0.35/cat/cat1.png"


def test_the_join_names_each_trial_s_metamer_model_and_leaves_out_failed_metamers():
    trials = _trials(["natural/a.jpg", "l1/a.png", "l1/b.png", "l2/b.png"])
    joined = join_metamer_set(trials, _manifest())
    assert joined.stimulus.tolist() == ["natural/a.jpg", "l1/a.png", "l2/b.png"]
    assert joined.metamer_model.tolist() == ["net"] * 3
    kept = join_metamer_set(trials, _manifest(), include_failed=True)
    assert kept.stimulus.tolist() == trials.stimulus.tolist()
    assert "metamer_model" not in trials.columns  # the trials given are left as they were
    # a manifest without validation keeps every trial
    assert len(join_metamer_set(trials, _manifest().drop(columns="valid"))) == 4


def test_the_join_takes_a_stimulus_set_or_its_manifest():
    class FakeSet:  # anything with a manifest, as a StimulusSet has
        manifest = _manifest()

    trials = _trials(["l1/b.png", "l2/a.png"])
    assert join_metamer_set(trials, FakeSet()).equals(join_metamer_set(trials, _manifest()))


def test_trials_outside_the_metamer_set_are_refused_in_one_sentence():
    trials = _trials(["natural/a.jpg", "l3/a.png"])
    with pytest.raises(TrialDataError, match=r"^trials: stimulus 'l3/a\.png' is not in the"):
        join_metamer_set(trials, _manifest())
    with pytest.raises(
        TrialDataError,
        match=r"^metamer_set: column 'model' is missing, so this is not a metamer set",
    ):
        join_metamer_set(trials, _manifest().drop(columns="model"))
    with pytest.raises(TrialDataError, match=r"^metamer_set: column 'stimulus' is not in the"):
        join_metamer_set(trials.drop(columns="stimulus"), _manifest())


def test_layers_must_be_distinct_and_name_condition_folders():
    assert distinct_layers("l1") == ["l1"]
    assert layer_conditions(("l1", "features.10")) == ["l1", "features.10"]
    with pytest.raises(StimulusSetError, match=r"^layers: at least one layer is needed\.$"):
        layer_conditions([])
    with pytest.raises(ModelError, match=r"^layers: 'l1' is given twice\.$"):
        distinct_layers(["l1", "l2", "l1"], error=ModelError)
    with pytest.raises(StimulusSetError, match=r"^layers: 'natural' is the condition of the"):
        layer_conditions(["l1", "natural"])
    for bad in ("", "a/b", "a\\b", ".hidden"):
        with pytest.raises(StimulusSetError, match=r"cannot name a condition folder\.$"):
            layer_conditions([bad])


def test_the_old_module_path_warns_and_gives_the_same_objects():
    old = importlib.import_module("psychoalign.stimuli.metamers")
    homes = {
        "NATURAL": "psychoalign.stimuli.metamer_sets",
        "Metamer": "psychoalign.synthesis.metamer",
        "initial_noise": "psychoalign.synthesis.metamer",
        "step_sizes": "psychoalign.synthesis.metamer",
        "synthesize_layers": "psychoalign.synthesis.metamer",
        "INITIAL_SD": "psychoalign.synthesis.metamer",
        "CPU_BATCH_SIZE": "psychoalign.synthesis.metamer",
        "null_distribution": "psychoalign.synthesis.validation",
        "validate": "psychoalign.synthesis.validation",
        "make_metamer_set": "psychoalign.workflows.metamers",
        "NULL_IMAGES": "psychoalign.workflows.metamers",
        "LOSSES_ALL_UP_TO": "psychoalign.workflows.metamers",
        "LOSSES_EVERY": "psychoalign.workflows.metamers",
    }
    for name, home in homes.items():
        with pytest.warns(DeprecationWarning, match=rf"stimuli\.metamers\.{name} moved to"):
            value = getattr(old, name)
        assert value is getattr(importlib.import_module(home), name), name
    with pytest.raises(AttributeError):
        old._fold_batch_norms  # noqa: B018 - private names are not kept
