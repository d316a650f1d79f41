"""Esc keeps every completed trial, a crash says why, and bad set-ups are refused.

Kills, resume and reruns at every phase are in test_lab_kills.py; storage faults in
test_storage_faults.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from lab_faults import session_args, start, trial_file, wait_for_rows

from psychoalign.trials import read_trials


def _press(display: str, *keys: str, gap: float = 0.05) -> None:
    os.environ["DISPLAY"] = display
    from psychoalign.lab.simulate import _XInput

    x_input = _XInput()
    for key in keys:
        x_input.press(key)
        time.sleep(gap)


def test_escape_asks_and_quits_keeping_every_completed_trial(xvfb, cache, tmp_path, fast_config):
    process = start(
        "metamer_recognition", session_args("06", 40, tmp_path, fast_config), xvfb, cache
    )
    folder = tmp_path / "metamer_recognition"
    wait_for_rows(folder, "06", 3)
    # Esc is read at the next response check, up to a trial later. Then 'y' again and
    # again until the session ends: the confirmation screen clears earlier keys when it
    # appears, and a 'y' within 30 ms of it beats the simulated participant's 'n' (80 ms).
    _press(xvfb, "escape")
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        _press(xvfb, "y", gap=0.03)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors[-2000:]
    data = trial_file(folder, "06")
    kept = read_trials(data)
    assert 3 <= len(kept) < 40
    assert json.loads(data.with_suffix(".json").read_text())["status"] == "aborted with Esc"


def test_escape_then_no_goes_on(xvfb, cache, tmp_path, fast_config):
    process = start(
        "metamer_recognition", session_args("08", 12, tmp_path, fast_config), xvfb, cache
    )
    folder = tmp_path / "metamer_recognition"
    wait_for_rows(folder, "08", 2)
    # A 10 ms tap, most likely while a stimulus is shown and no one polls the keyboard:
    # it must still be seen. The simulated participant answers 'n' on the confirmation.
    _press(xvfb, "escape")
    _, errors = process.communicate(timeout=180)
    assert process.returncode == 0, errors[-2000:]
    data = trial_file(folder, "08")
    assert read_trials(data).trial.tolist() == list(range(1, 13))
    record = json.loads(data.with_suffix(".json").read_text())
    assert record["status"].startswith("stopped after trial 12")
    # Esc was seen during a trial after the second, which then ran again from its start.
    [restarted] = record["restarted_trials"]
    assert 3 <= restarted <= 12


def _refused(result: subprocess.CompletedProcess, text: str, data: Path) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert text in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not list(data.rglob("*.csv")) and not list(data.rglob("*.json"))
    assert not list(data.rglob(".*"))  # nor the session's lock


def test_durations_that_are_not_whole_frames_are_refused(run_lab, tmp_path):
    config = tmp_path / "odd.yaml"
    config.write_text("durations_ms: {stimulus: 25}\n")
    data = tmp_path / "data"
    result = run_lab(
        "noise_degraded",
        "--participant",
        "01",
        "--simulate",
        "random",
        "--data-dir",
        str(data),
        "--config",
        str(config),
    )
    _refused(result, "durations_ms.stimulus: 25 ms is not a whole number of frames at 60 Hz", data)


def test_an_altered_stimulus_is_refused(run_lab, tmp_path):
    from psychoalign.datasets import stimulus_set

    copy = stimulus_set("silhouette").subset(categories=["cat", "dog"]).write(tmp_path / "set")
    (copy.path / "cat" / "cat2.png").write_bytes((copy.path / "cat" / "cat3.png").read_bytes())
    data = tmp_path / "data"
    result = run_lab(
        "metamer_recognition",
        "--participant",
        "01",
        "--simulate",
        "random",
        "--stimuli",
        str(copy.path),
        "--data-dir",
        str(data),
    )
    _refused(result, "cat2.png: is altered", data)
    shutil.rmtree(copy.path)


def test_a_missing_stimulus_is_refused(run_lab, tmp_path):
    from psychoalign.datasets import stimulus_set

    copy = stimulus_set("silhouette").subset(categories=["cat", "dog"]).write(tmp_path / "set")
    (copy.path / "dog" / "dog4.png").unlink()
    data = tmp_path / "data"
    result = run_lab(
        "noise_degraded",
        *("--participant", "01", "--simulate", "random"),
        *("--stimuli", str(copy.path), "--data-dir", str(data)),
    )
    _refused(result, "dog4.png: is missing", data)


def test_a_keyboard_without_psychtoolbox_is_refused(run_lab, tmp_path):
    fake = tmp_path / "no-ptb" / "psychtoolbox"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('psychtoolbox is unavailable here')\n")
    data = tmp_path / "data"
    result = run_lab(
        "rapid_categorization",
        "--participant",
        "01",
        "--simulate",
        "random",
        "--data-dir",
        str(data),
        PYTHONPATH=str(tmp_path / "no-ptb"),
    )
    _refused(result, "keyboard: psychtoolbox cannot be imported", data)


def test_a_crash_mid_session_keeps_every_completed_trial_and_says_why(
    xvfb, cache, tmp_path, fast_config
):
    from psychoalign.datasets import stimulus_set

    copy = stimulus_set("silhouette").write(tmp_path / "set")
    args = [*session_args("09", 30, tmp_path / "data", fast_config), "--stimuli", str(copy.path)]
    process = start("metamer_recognition", args, xvfb, cache)
    folder = tmp_path / "data" / "metamer_recognition"
    wait_for_rows(folder, "09", 2)
    for path in copy.path.glob("*/*.png"):  # the stimuli vanish (a network drive goes away)
        path.unlink()
    _, errors = process.communicate(timeout=180)
    assert process.returncode != 0 and ".png" in errors  # the file that vanished
    data = trial_file(folder, "09")
    kept = read_trials(data)
    assert 2 <= len(kept) < 30 and kept.trial.tolist() == list(range(1, len(kept) + 1))
    record = json.loads(data.with_suffix(".json").read_text())
    assert record["status"].startswith("crashed: ") and record["n_trials"] == len(kept)
