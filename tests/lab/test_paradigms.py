"""Each paradigm end to end under Xvfb, with a random and with a model observer."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES, read_trials

# Configured frames at 60 Hz: stimulus, mask (and, for the first trial, the fixation).
FRAMES = {
    "noise_degraded": {"stim_frames": 12, "mask_frames": 12, "isi_frames": 1},
    "rapid_categorization": {"stim_frames": 3, "mask_frames": 6, "isi_frames": 0},
    "metamer_recognition": {
        "stim_frames": 18,
        "mask_frames": 18,
        "isi_frames": 0,
        "fixation_frames": 30,
    },
}
SIXTEEN = set(MODEL_VS_HUMAN_CATEGORIES)
RESPONSES = {
    "noise_degraded": SIXTEEN,
    "rapid_categorization": {"animal", "non-animal"},
    "metamer_recognition": SIXTEEN,
}


@pytest.mark.parametrize("paradigm", sorted(FRAMES))
@pytest.mark.parametrize("simulate", ["random", "model:efficientnet_lite0"])
def test_paradigm_end_to_end(paradigm, simulate, run_lab, tmp_path, fast_config):
    result = run_lab(
        paradigm,
        "--participant",
        "07",
        "--simulate",
        simulate,
        "--trials",
        "6",
        "--data-dir",
        str(tmp_path),
        "--config",
        str(fast_config),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    path = tmp_path / paradigm
    [data] = [p for p in path.glob("sub-07_ses-1_*.csv") if "practice" not in p.name]
    trials = read_trials(data)
    assert len(trials) == 6 and trials.trial.tolist() == list(range(1, 7))
    assert (trials.observer == "sub-07").all() and (trials.observer_kind == "model").all()
    assert (trials.simulated == simulate).all()
    assert trials.response.isin(RESPONSES[paradigm] | {"na"}).all()
    for column, frames in FRAMES[paradigm].items():
        assert (trials[column].astype(int) == frames).all(), column
    assert (trials.dropped_frames.astype(int) >= 0).all()
    record = json.loads(data.with_suffix(".json").read_text())
    assert record["status"] == "stopped after trial 6 (--trials)"
    assert record["stimulus_set"]["checksum"] and record["versions"]["psychopy"]
    assert record["frames"]["stimulus"] == FRAMES[paradigm]["stim_frames"]
    assert len(pd.read_csv(data.with_name(f"{data.stem}_practice.csv"))) == 2
    compared = tmp_path / "compared"
    outcome = CliRunner().invoke(app, ["compare", str(path), "--out", str(compared)])
    assert outcome.exit_code == 0, outcome.output
    assert set(pd.read_csv(compared / "accuracy.csv").observer) == {"sub-07"}


def test_rapid_categorization_keys_are_counterbalanced(run_lab, tmp_path, fast_config):
    for participant in ("01", "02"):
        result = run_lab(
            "rapid_categorization",
            "--participant",
            participant,
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
    records = [
        json.loads(p.read_text())
        for p in sorted((tmp_path / "rapid_categorization").glob("*.json"))
    ]
    keys = [r["config"]["response"]["keys"] for r in records]
    assert keys == [{"animal": "j", "non-animal": "f"}, {"animal": "f", "non-animal": "j"}]


def test_the_script_runs_like_the_command(xvfb, cache, tmp_path, fast_config):
    from lab_support import lab_env

    from psychoalign.lab.config import experiments_dir

    script = experiments_dir() / "noise_degraded.py"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--participant",
            "11",
            "--simulate",
            "random",
            "--trials",
            "3",
            "--window",
            "--refresh-rate",
            "60",
            "--data-dir",
            str(tmp_path),
            "--config",
            str(fast_config),
        ],
        env=lab_env(xvfb, cache),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(read_trials(tmp_path / "noise_degraded")) == 3


def test_too_slow_answers_are_na_with_feedback_and_pages_frame_the_session(run_lab, tmp_path):
    from PIL import Image

    config = tmp_path / "slow.yaml"
    # Answers come 1.5 s after the response is due, past the 1 s deadline from image onset.
    config.write_text("practice_trials: 1\nbreak_every: 2\nsimulation: {rt_ms: [1500, 1500]}\n")
    screens = tmp_path / "screens"
    result = run_lab(
        "rapid_categorization",
        *("--participant", "03", "--simulate", "random", "--trials", "4"),
        *("--data-dir", str(tmp_path / "data"), "--config", str(config)),
        *("--screenshots", str(screens)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    trials = read_trials(tmp_path / "data" / "rapid_categorization")
    assert (trials.response == "na").all() and trials.rt.isna().all()
    assert not trials.correct.any()
    raw = pd.read_csv(next((tmp_path / "data" / "rapid_categorization").glob("*[0-9].csv")))
    assert raw.too_slow.all()
    names = {path.stem for path in screens.glob("*.png")}
    assert {"instructions", "after_practice", "break", "goodbye", "feedback"} <= names
    for page in ("instructions", "break", "feedback"):  # white text on the grey background
        pixels = np.asarray(Image.open(screens / f"{page}.png").convert("L"))
        assert (pixels > 200).sum() > 50, page


def test_a_metamer_set_runs_through_metamer_recognition(run_lab, tmp_path, fast_config):
    """The CLI makes a (short) metamer set; the model observer runs the experiment on it."""
    from psychoalign.stimuli import StimulusSet

    made = CliRunner().invoke(
        app,
        [
            *("metamers", "--layers", "_blocks.1", "--stimuli", "silhouette", "--images", "3"),
            *("--steps", "40", "--rounds", "4", "--out", str(tmp_path / "metamers")),
        ],
    )
    assert made.exit_code == 0, made.output
    metamers = StimulusSet.open(tmp_path / "metamers")
    assert sorted(set(metamers.conditions)) == ["_blocks.1", "natural"]
    assert (tmp_path / "metamers" / "validation.csv").is_file()
    shown = CliRunner().invoke(app, ["metamers", "show", str(tmp_path / "metamers")])
    assert shown.exit_code == 0, shown.output
    result = run_lab(
        "metamer_recognition",
        *("--participant", "12", "--simulate", "model:efficientnet_lite0"),
        *("--stimuli", str(metamers.path), "--data-dir", str(tmp_path / "data")),
        *("--config", str(fast_config), "--trials", "4"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    trials = read_trials(tmp_path / "data" / "metamer_recognition")
    valid = metamers.manifest[metamers.manifest["valid"].astype(str) == "True"]
    assert set(trials.stimulus) <= set(valid.stimulus)  # failed metamers are left out
    assert trials.condition.isin(["natural", "_blocks.1"]).all()
    analysed = CliRunner().invoke(
        app,
        [
            *("metamers", "recognisability", str(tmp_path / "data" / "metamer_recognition")),
            *("--stimuli", str(metamers.path), "--out", str(tmp_path / "results")),
        ],
    )
    assert analysed.exit_code == 0, analysed.output
    table = pd.read_csv(tmp_path / "results" / "metamer_recognisability.csv")
    got = table[table.group == "sub-12"].set_index("condition")["accuracy"]
    expected = trials.groupby("condition")["correct"].mean()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert set(table.metamer_model) == {"efficientnet_lite0"}
