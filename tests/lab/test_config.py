"""Paradigm configurations: the shipped ones load, a lab's file merges, bad settings are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from psychoalign.lab.config import PARADIGMS, load_config
from psychoalign.lab.errors import LabError
from psychoalign.lab.timing import frame_table
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_the_shipped_configurations_are_whole_frames_at_60_hz(paradigm):
    config = load_config(paradigm)
    assert config["experiment"] == paradigm
    frame_table(config["durations_ms"], 60)


def test_noise_degraded_keeps_the_geirhos_2018_protocol():
    config = load_config("noise_degraded")
    assert config["background_grey"] == 0.454
    assert frame_table(config["durations_ms"], 60) == {
        "block_fixation": 18,  # 300 ms
        "stimulus": 12,  # 200 ms
        "mask": 12,  # 200 ms
        "response": 90,  # 1500 ms
    }
    assert config["blank_frames"] == 1 and config["feedback"] is False
    assert config["response"]["type"] == "icons"
    on_screen = sorted(c for row in config["response"]["icons"] for c in row)
    assert on_screen == sorted(MODEL_VS_HUMAN_CATEGORIES)


def test_a_labs_file_overrides_key_by_key(tmp_path):
    override = tmp_path / "lab.yaml"
    override.write_text("durations_ms: {stimulus: 100}\nresponse: {icon_px: 100}\n")
    config = load_config("noise_degraded", override)
    assert config["durations_ms"]["stimulus"] == 100
    assert config["durations_ms"]["mask"] == 200  # kept from the paradigm's file
    assert config["response"]["icon_px"] == 100 and config["response"]["type"] == "icons"
    assert config["_sources"][-1] == str(override)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("background_grey: 1.5\n", "setting 'background_grey' is 1.5, but must lie in [0, 1]."),
        (
            "durations_ms: {mask: fast}\n",
            "setting 'durations_ms.mask' is 'fast'; give milliseconds",
        ),
        ("response: {type: voice}\n", "setting 'response.type' is 'voice', not one of keys"),
        ("break_every: -1\n", "setting 'break_every': -1 must be a whole number of at least 0."),
        ("practice_trials: 1.5\n", "setting 'practice_trials': 1.5 must be a whole number of at"),
        ("response: {type: keys}\n", "setting 'response.keys' is missing."),
        ("seed: soon\n", "setting 'seed': 'soon' must be a whole number of at least 0."),
        ("simulation: {rt_ms: [900, 100]}\n", "setting 'simulation.rt_ms' is [900, 100]"),
        ("stimuli: none\n", "setting 'stimuli' is 'none', but must be a dict."),
        ("mask_paradigm: pink\n", "setting 'mask_paradigm' is 'pink', not one of noise_degraded"),
        ("response: {icon_dir: /no/icons}\n", "setting 'response.icon_dir' is /no/icons, not a"),
        ("durations_ms: [1, 2\n", "is not valid YAML (line 2)."),
        ("- a list\n", "must hold a mapping of settings, not list."),
    ],
)
def test_bad_settings_are_named_with_the_files(tmp_path, text, message):
    override = _lab_file(tmp_path, text)
    with pytest.raises(LabError) as refused:
        load_config("noise_degraded", override)
    assert message in str(refused.value)
    assert str(override) in str(refused.value)


def test_unknown_paradigms_and_missing_files_are_refused(tmp_path):
    with pytest.raises(LabError, match="'stroop' is not one of clickme, metamer_recognition"):
        load_config("stroop")
    with pytest.raises(LabError, match="configuration file not found"):
        load_config("noise_degraded", tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("paradigm", "text", "message"),
    [
        (
            "noise_degraded",
            "durations_ms: {stimuls: 200}\n",
            "setting 'durations_ms.stimuls' is not a setting of noise_degraded; did you mean "
            "'durations_ms.stimulus'?",
        ),
        (
            "noise_degraded",
            "icon_px: 100\n",
            "'icon_px' is not a setting of noise_degraded; did you mean 'response.icon_px'?",
        ),
        ("noise_degraded", "practise_trials: 2\n", "did you mean 'practice_trials'?"),
        ("noise_degraded", "simulation: {rt: [1, 2]}\n", "did you mean 'simulation.rt_ms'?"),
        ("noise_degraded", "stimuli: {make: {sourse: x}}\n", "did you mean 'stimuli.make.source'?"),
        (
            "noise_degraded",
            "durations_ms: {isi: 10}\n",
            "setting 'durations_ms.isi' is not a setting of noise_degraded; the settings under "
            "'durations_ms' are block_fixation, mask, response, stimulus.",
        ),
        ("clickme", "durations_ms: {timelimit: 1}\n", "did you mean 'durations_ms.time_limit'?"),
        ("metamer_recognition", "catch_evry: 5\n", "did you mean 'catch_every'?"),
        (
            "rapid_categorization",
            "counterbalance:\n  - {response: {keys: {animal: f}}}\n  - {respons: {keys: {}}}\n",
            "setting 'counterbalance[2].respons' is not a setting of rapid_categorization; did "
            "you mean 'counterbalance[2].response'?",
        ),
    ],
)
def test_unknown_settings_are_refused_with_the_nearest_one(tmp_path, paradigm, text, message):
    """A typo used to be taken silently, and the paradigm's default used instead."""
    override = _lab_file(tmp_path, text)
    with pytest.raises(LabError) as refused:
        load_config(paradigm, override)
    assert str(refused.value).startswith(f"{override}: ")
    assert str(refused.value).endswith(message)


@pytest.mark.parametrize(
    ("paradigm", "text"),
    [
        # Keys that are data: a category's response key, the categories of a relabelled set.
        ("rapid_categorization", "response: {keys: {animal: a, non-animal: l}}\n"),
        (
            "noise_degraded",
            "stimuli: {relabel: {source: silhouette, categories: {pets: [cat, dog]}}}\n",
        ),
        # Settings the code reads that the paradigm's YAML leaves out.
        ("noise_degraded", "seed: 3\ngoodbye: Bye\nbreak_text: Rest\nstimulus_scale: 2\n"),
        ("noise_degraded", "response: {icon_dir: .}\nstimuli: {path: somewhere}\n"),
        ("metamer_recognition", "include_failed_metamers: true\n"),
        ("noise_degraded", "counterbalance: [{durations_ms: {mask: 100}}, {}]\n"),
    ],
)
def test_known_settings_and_data_keys_are_taken(tmp_path, paradigm, text):
    assert load_config(paradigm, _lab_file(tmp_path, text))["_sources"][-1].endswith("lab.yaml")


def _lab_file(folder: Path, text: str) -> Path:
    """A lab's settings file holding ``text``."""
    path = folder / "lab.yaml"
    path.write_text(text)
    return path
