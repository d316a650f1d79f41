"""A resumed session under Xvfb: its first trial is presented like any other, the file says so."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from psychoalign.lab.paradigm import PRESENTATION_COLUMNS


def test_a_resumed_trial_gets_the_block_fixation_and_the_file_marks_the_run(
    run_lab, tmp_path, fast_config
):
    """noise_degraded shows its fixation at block starts; trial 4 resumes mid-block."""
    data = tmp_path / "data"
    common = ("--participant", "05", "--simulate", "random", "--data-dir", str(data))
    first = run_lab("noise_degraded", *common, "--config", str(fast_config), "--trials", "3")
    assert first.returncode == 0, first.stderr[-2000:]
    resumed = run_lab(
        "noise_degraded", *common, "--config", str(fast_config), "--trials", "4", "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    [path] = [p for p in (data / "noise_degraded").glob("*.csv") if "practice" not in p.name]
    rows = pd.read_csv(path)
    assert list(rows.columns[-len(PRESENTATION_COLUMNS) - 1 : -1]) == PRESENTATION_COLUMNS
    assert rows.trial.tolist() == [1, 2, 3, 4]
    assert rows.first_in_block.tolist() == [True, False, False, False]
    # 300 ms at 60 Hz at the block's start and at the resumed run's, none in between.
    assert rows.fixation_frames.tolist() == [18, 0, 0, 18]
    assert rows.run.tolist() == [1, 1, 1, 2]
    # The flag is the rule: more than one frame between the duration and stim_frames.
    period = 1 / rows.refresh_hz
    off = (rows.stimulus_duration_s - rows.stim_frames * period).abs() > period
    assert rows.timing_flag.dtype == bool and (rows.timing_flag == off).all()
    screen = json.loads(path.with_suffix(".json").read_text())["screen"]
    # Xvfb has no vertical sync: the declared 60 Hz is kept in software, and said so.
    assert screen["vsync"] is False and screen["flips_paced_in_software"] is True
    assert screen["refresh_hz"] == 60 and screen["refresh_declared"] is True
    intervals = screen["flip_intervals"]
    assert intervals["n_flips"] == 60 and np.isfinite(intervals["after_half_median_pause_ms"])
