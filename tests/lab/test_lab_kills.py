"""A session killed (SIGKILL) at any phase keeps every trial, refuses a plain rerun, resumes.

The fault matrix of the lab: killed at the instructions, in the practice, in the first
trial, mid-session, at a break, in the last trial, and at the goodbye page. Each phase is
found by watching the session's files: the screenshot of a page (``--screenshots``
writes ``<page>.png`` as the page first appears) or the rows of the trial files.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest
from lab_faults import (
    one_sentence_refusal,
    rows,
    session_args,
    sidecar,
    start,
    trial_file,
    wait_until,
)

from psychoalign.trials import read_trials

PRACTICE, TRIALS, BREAK_EVERY = 3, 6, 3
CONFIG = f"""
practice_trials: {PRACTICE}
break_every: {BREAK_EVERY}
simulation: {{rt_ms: [80, 160]}}
"""


def _phase_reached(phase: str, folder: Path, shots: Path):
    """When the session is in ``phase``: a page's screenshot, or rows of its trial files."""
    main = lambda: rows(trial_file(folder, "91"))  # noqa: E731
    practice = lambda: rows(trial_file(folder, "91", practice=True))  # noqa: E731
    return {
        "instructions": lambda: (shots / "instructions.png").exists(),
        "practice": lambda: practice() >= 1,
        "first_trial": lambda: (shots / "after_practice.png").exists(),
        "mid_session": lambda: main() >= 2,
        "break": lambda: (shots / "break.png").exists(),
        "last_trial": lambda: main() >= TRIALS - 1,
        "goodbye": lambda: (shots / "goodbye.png").exists(),
    }[phase]


#: Trials saved when killed in each phase: (practice rows, main rows) as a range each.
SAVED = {
    "instructions": ((0, 0), (0, 0)),
    "practice": ((1, PRACTICE - 1), (0, 0)),
    "first_trial": ((PRACTICE, PRACTICE), (0, 0)),
    "mid_session": ((PRACTICE, PRACTICE), (2, TRIALS - 2)),
    "break": ((PRACTICE, PRACTICE), (BREAK_EVERY, BREAK_EVERY)),
    "last_trial": ((PRACTICE, PRACTICE), (TRIALS - 1, TRIALS - 1)),
    "goodbye": ((PRACTICE, PRACTICE), (TRIALS, TRIALS)),
}


def _kill_at(phase: str, args: list[str], folder: Path, shots: Path, xvfb: str, cache: Path):
    """Start the session and SIGKILL it in ``phase``; the trial files' text as it was left.

    The process is stopped (SIGSTOP) the moment the phase shows, then checked to be in it
    (its sidecar still says running); the goodbye page lasts only until the simulated
    participant's space press, so a late look starts again (it has never been needed
    more than once).
    """
    for _ in range(3):
        process = start("noise_degraded", args, xvfb, cache)
        wait_until(_phase_reached(phase, folder, shots), f"phase {phase}", seconds=120)
        os.kill(process.pid, signal.SIGSTOP)
        in_phase = sidecar(folder, "91")["status"] == "running"
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        if in_phase:
            return
        for path in [*folder.iterdir(), *shots.iterdir()]:
            path.unlink()
    raise AssertionError(f"the session could not be stopped in phase {phase}")


@pytest.mark.parametrize("phase", list(SAVED))
def test_a_session_killed_in_any_phase_keeps_its_trials_and_resumes_the_plan(
    phase, xvfb, cache, tmp_path
):
    config = tmp_path / "kill.yaml"
    config.write_text(CONFIG)
    folder, shots = tmp_path / "data" / "noise_degraded", tmp_path / "shots"
    args = [*session_args("91", TRIALS, tmp_path / "data", config), "--screenshots", str(shots)]
    _kill_at(phase, args, folder, shots, xvfb, cache)
    main, practice = trial_file(folder, "91"), trial_file(folder, "91", practice=True)
    kept = {"main": rows(main), "practice": rows(practice)}
    (low, high), (main_low, main_high) = SAVED[phase]
    assert low <= kept["practice"] <= high and main_low <= kept["main"] <= main_high, kept
    left = {path.name: path.read_bytes() for path in folder.glob("sub-*")}
    plan = [trial["stimulus"] for trial in sidecar(folder, "91")["plan"]]

    # A plain rerun is refused however far the session got (even only a sidecar) ...
    rerun = start("noise_degraded", args, xvfb, cache)
    _, errors = rerun.communicate(timeout=120)
    message = one_sentence_refusal(rerun, errors)
    assert "already has session 1, which is never overwritten" in message
    assert "continue it with --resume" in message
    assert {path.name: path.read_bytes() for path in folder.glob("sub-*")} == left

    # ... and --resume goes on with the plan where it stopped, keeping what was saved.
    resumed = start("noise_degraded", [*args, "--resume"], xvfb, cache)
    out, errors = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, errors[-2000:]
    main = trial_file(folder, "91")
    assert out.strip() == str(main)
    assert f"{TRIALS} trials saved to {main}" in " ".join(errors.split())
    finished = read_trials(main)
    assert finished.trial.tolist() == list(range(1, TRIALS + 1))
    assert finished.stimulus.tolist() == plan[:TRIALS]
    if main.name in left:  # the rows kept are untouched, byte for byte
        assert main.read_bytes().startswith(left[main.name])
    raw = pd.read_csv(main)
    assert raw.run.tolist() == [1] * kept["main"] + [2] * (TRIALS - kept["main"])
    record = sidecar(folder, "91")
    restarted = kept["main"] == 0 and kept["practice"] < PRACTICE
    [resumed] = record["resumed"]
    assert resumed.pop("screen")["vsync"] is False  # the display measured again, Xvfb
    assert resumed == {
        "at_trial": kept["main"] + 1,
        "practice": "restarted" if restarted else "skipped",
        "run": 2,
    }
    assert record["status"] == f"stopped after trial {TRIALS} (--trials)"
    assert record["n_trials"] == TRIALS
    practised = pd.read_csv(trial_file(folder, "91", practice=True))
    again = PRACTICE if restarted else 0  # a practice cut short starts again from its first
    assert practised.trial.tolist() == [*range(1, kept["practice"] + 1), *range(1, again + 1)]
    assert practised.run.tolist() == [1] * kept["practice"] + [2] * again


def test_two_processes_starting_one_session_at_once_run_it_once(xvfb, cache, tmp_path):
    config = tmp_path / "kill.yaml"
    config.write_text(CONFIG)
    args = session_args("92", 2, tmp_path / "data", config)
    # A paradigm on a bundled set: two first runs of noise_degraded would also race to
    # build its derived stimulus set in the cache.
    both = [start("metamer_recognition", args, xvfb, cache) for _ in range(2)]
    results = [(process, *process.communicate(timeout=180)) for process in both]
    codes = sorted(process.returncode for process, _, _ in results)
    assert codes == [0, 2], [errors[-1500:] for _, _, errors in results]
    [(refused, _, errors)] = [r for r in results if r[0].returncode == 2]
    message = one_sentence_refusal(refused, errors)
    # Refused by the lock while the other runs (or, had it been slower to start than the
    # other's whole set-up, as an existing session): never a second session 1.
    assert "is already running in another process" in message or "never overwritten" in message
    folder = tmp_path / "data" / "metamer_recognition"
    assert len(list(folder.glob("sub-92_ses-1_*.json"))) == 1
    assert read_trials(trial_file(folder, "92")).trial.tolist() == [1, 2]
    assert not list(folder.glob(".*"))  # the lock went with the session
