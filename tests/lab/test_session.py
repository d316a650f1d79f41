"""Session files without a display: naming, refusals, appending, repair and resume."""

from __future__ import annotations

import json
import os

import pytest

from psychoalign.lab.errors import LabError
from psychoalign.lab.session import Session, session_summary

COLUMNS = ["trial", "stimulus", "response", "rt"]


def test_a_new_session_names_its_files_after_participant_and_session(tmp_path):
    with Session(tmp_path, "noise_degraded", "07", 2, resume=False) as session:
        assert session.path.parent == tmp_path / "noise_degraded"
        assert session.path.name.startswith("sub-07_ses-2_") and session.path.suffix == ".csv"
        assert session.sidecar_path == session.path.with_suffix(".json")
        assert session.practice_path.name == f"{session.path.stem}_practice.csv"
        # Nothing but the session's lock is written before the first save.
        assert [p.name for p in session.folder.iterdir()] == [".sub-07_ses-2.lock"]
    assert not list(session.folder.iterdir())  # the lock goes with the session


def test_rows_are_appended_under_one_header_with_nan_as_empty(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.append({"trial": 1, "stimulus": "a.png", "response": "cat", "rt": 0.5}, COLUMNS)
    session.append(
        {"trial": 2, "stimulus": "b,c.png", "response": "na", "rt": float("nan")}, COLUMNS
    )
    assert session.path.read_text() == (
        'trial,stimulus,response,rt\n1,a.png,cat,0.5\n2,"b,c.png",na,\n'
    )
    assert session.completed().stimulus.tolist() == ["a.png", "b,c.png"]


def test_an_existing_session_is_refused_and_resume_needs_one(tmp_path):
    with Session(tmp_path, "noise_degraded", "01", 1, resume=False) as first:
        first.save_record(plan=[{"stimulus": "a.png"}])
        first.append({"trial": 1}, COLUMNS)
    with pytest.raises(LabError) as refused:
        Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    assert str(refused.value) == (
        f"{first.sidecar_path}: participant 01 already has session 1, which is never "
        "overwritten; continue it with --resume or choose another --session."
    )
    Session(tmp_path, "noise_degraded", "01", 2, resume=False).close()  # another one is fine
    with pytest.raises(LabError, match="--resume: there is no session 3 of participant 01"):
        Session(tmp_path, "noise_degraded", "01", 3, resume=True)
    with Session(tmp_path, "noise_degraded", "01", 1, resume=True) as resumed:
        assert resumed.path == first.path and resumed.record["plan"] == [{"stimulus": "a.png"}]


@pytest.mark.parametrize("left", ["sidecar", "practice"])
def test_a_session_exists_as_soon_as_any_of_its_files_does(tmp_path, left):
    with Session(tmp_path, "noise_degraded", "01", 1, resume=False) as first:
        first.save_record(plan=[{"stimulus": "a.png"}], status="running")
        if left == "practice":  # killed in the practice: no trial file yet
            first.append({"trial": 1}, COLUMNS, practice=True)
    assert not first.path.exists()
    with pytest.raises(LabError, match="already has session 1, which is never overwritten"):
        Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    with Session(tmp_path, "noise_degraded", "01", 1, resume=True) as resumed:
        assert resumed.path == first.path and resumed.completed().empty
        assert len(resumed.completed(resumed.practice_path)) == (left == "practice")


def test_a_session_runs_in_one_process_at_a_time(tmp_path):
    with Session(tmp_path, "noise_degraded", "01", 1, resume=False) as running:
        # flock locks belong to an open file, so even this process cannot take it twice.
        for resume in (False, True):
            with pytest.raises(LabError) as refused:
                Session(tmp_path, "noise_degraded", "01", 1, resume=resume)
            assert str(refused.value) == (
                f"{running.folder / '.sub-01_ses-1.lock'}: session 1 of participant 01 is "
                f"already running in another process (process {os.getpid()}); only one "
                "process at a time runs a session, so wait for it to end or choose another "
                "--session."
            )
        Session(tmp_path, "noise_degraded", "01", 2, resume=False).close()
        running.save_record(plan=[], status="running")
    with pytest.raises(LabError, match="never overwritten"):  # free again, and it exists
        Session(tmp_path, "noise_degraded", "01", 1, resume=False)


def test_a_complete_session_or_one_of_two_same_sessions_is_not_resumed(tmp_path):
    with Session(tmp_path, "noise_degraded", "01", 1, resume=False) as done:
        done.save_record(plan=[], status="completed")
    with pytest.raises(LabError) as refused:
        Session(tmp_path, "noise_degraded", "01", 1, resume=True)
    assert str(refused.value) == (
        f"{done.sidecar_path}: session 1 of participant 01 is complete; there is nothing to resume."
    )
    twin = done.folder / "sub-01_ses-1_20200101-000000.json"  # left by an older version
    twin.write_text('{"plan": []}')
    with pytest.raises(LabError, match=r"has 2 sessions numbered 1 \(.*\); move all but one aside"):
        Session(tmp_path, "noise_degraded", "01", 1, resume=True)


def test_a_line_cut_short_by_a_kill_is_removed_and_recorded(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(plan=[])
    session.append({"trial": 1, "stimulus": "a.png", "response": "cat", "rt": 0.5}, COLUMNS)
    with open(session.path, "a") as handle:
        handle.write("2,b.png,do")  # the process died while writing trial 2
    session.close()
    resumed = Session(tmp_path, "noise_degraded", "01", 1, resume=True)
    assert resumed.completed().trial.tolist() == ["1"]
    assert session.path.read_text().endswith("0.5\n")
    assert resumed.record["repairs"] == [f"removed an unfinished last line of {session.path.name}"]


def test_the_sidecar_is_replaced_whole(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(status="running", seed=3)
    session.save_record(status="completed")
    session.close()
    assert json.loads(session.sidecar_path.read_text()) == {"status": "completed", "seed": 3}
    assert [p.name for p in session.folder.iterdir()] == [session.sidecar_path.name]


@pytest.mark.parametrize(
    ("participant", "session", "message"),
    [
        ("", 1, "--participant: '' must be letters, digits and '-' only."),
        ("01/../x", 1, "--participant: '01/../x' must be letters, digits and '-' only."),
        ("01", 0, "--session: 0 must be 1 or more."),
    ],
)
def test_bad_participants_and_sessions_are_refused(tmp_path, participant, session, message):
    with pytest.raises(LabError) as refused:
        Session(tmp_path, "noise_degraded", participant, session, resume=False)
    assert str(refused.value) == message


def test_a_session_without_a_plan_cannot_be_resumed(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.append({"trial": 1}, COLUMNS)
    session.save_record(status="running")
    session.close()
    with pytest.raises(LabError, match="has no trial plan; this session cannot be resumed"):
        Session(tmp_path, "noise_degraded", "01", 1, resume=True)


def test_a_damaged_sidecar_is_refused_on_resume(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.append({"trial": 1}, COLUMNS)
    session.sidecar_path.write_text('{"plan": [')
    session.close()
    with pytest.raises(LabError) as refused:
        Session(tmp_path, "noise_degraded", "01", 1, resume=True)
    assert str(refused.value) == (
        f"{session.sidecar_path}: is not valid JSON (line 1); this session cannot be resumed."
    )


def test_a_header_cut_short_by_a_kill_leaves_no_trials(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(plan=[])
    session.folder.mkdir(parents=True, exist_ok=True)
    session.path.write_text("trial,stim")  # the process died while writing the header
    session.close()
    resumed = Session(tmp_path, "noise_degraded", "01", 1, resume=True)
    assert resumed.completed().empty
    resumed.append({"trial": 1, "stimulus": "a.png"}, COLUMNS)
    assert session.path.read_text() == "trial,stimulus,response,rt\n1,a.png,,\n"


def test_the_sidecar_is_fsynced_through_one_atomic_write(tmp_path, monkeypatch):
    import os

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(status="running")
    session.close()
    assert len(synced) == 1
    assert json.loads(session.sidecar_path.read_text()) == {"status": "running"}
    assert session.sidecar_path.read_text().endswith("}\n")


def test_trials_whose_timing_was_off_are_counted_and_summed_up(tmp_path):
    columns = [*COLUMNS, "timing_flag"]
    with Session(tmp_path, "noise_degraded", "01", 1, resume=False) as session:
        for trial, flag in enumerate([True, False, True], start=1):
            session.append({"trial": trial, "timing_flag": flag}, columns)
        assert session.tally() == {"n_trials": 3, "n_timing_flagged": 2}
        session.save_record(**session.tally())
    assert session_summary(session.path) == (
        f"3 trials saved to {session.path}; 2 trials' stimulus durations were off by more "
        "than one frame (column timing_flag)."
    )
    with Session(tmp_path, "noise_degraded", "01", 2, resume=False) as older:
        older.append({"trial": 1}, COLUMNS)  # a file of a version without the column
        assert older.tally() == {"n_trials": 1, "n_timing_flagged": None}
        older.save_record(**older.tally())
    assert session_summary(older.path) == f"1 trial saved to {older.path}."


def test_a_resumed_file_keeps_its_own_columns(tmp_path):
    with Session(tmp_path, "noise_degraded", "01", 1, resume=False) as first:
        first.save_record(plan=[])
        first.append({"trial": 1, "stimulus": "a.png"}, ["trial", "stimulus"])
    with Session(tmp_path, "noise_degraded", "01", 1, resume=True) as resumed:
        # Written by a version whose rows had no run column: rows stay under its header.
        resumed.append({"trial": 2, "stimulus": "b.png", "run": 2}, ["trial", "run", "stimulus"])
    assert first.path.read_text() == "trial,stimulus\n1,a.png\n2,b.png\n"
