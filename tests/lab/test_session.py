"""Session files without a display: naming, refusals, appending, repair and resume."""

from __future__ import annotations

import json

import pytest

from psychoalign.lab.errors import LabError
from psychoalign.lab.session import Session

COLUMNS = ["trial", "stimulus", "response", "rt"]


def test_a_new_session_names_its_files_after_participant_and_session(tmp_path):
    session = Session(tmp_path, "noise_degraded", "07", 2, resume=False)
    assert session.path.parent == tmp_path / "noise_degraded"
    assert session.path.name.startswith("sub-07_ses-2_") and session.path.suffix == ".csv"
    assert session.sidecar_path == session.path.with_suffix(".json")
    assert session.practice_path.name == f"{session.path.stem}_practice.csv"
    assert not session.folder.exists()  # nothing is written before the first save


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
    first = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    first.save_record(plan=[{"stimulus": "a.png"}])
    first.append({"trial": 1}, COLUMNS)
    with pytest.raises(LabError) as refused:
        Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    assert str(refused.value) == (
        f"{first.path}: participant 01 already has session 1; it is never overwritten. "
        "Continue it with --resume or choose another --session."
    )
    Session(tmp_path, "noise_degraded", "01", 2, resume=False)  # another session is fine
    with pytest.raises(LabError, match="--resume: there is no session 3 of participant 01"):
        Session(tmp_path, "noise_degraded", "01", 3, resume=True)
    resumed = Session(tmp_path, "noise_degraded", "01", 1, resume=True)
    assert resumed.path == first.path and resumed.record["plan"] == [{"stimulus": "a.png"}]


def test_a_line_cut_short_by_a_kill_is_removed_and_recorded(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(plan=[])
    session.append({"trial": 1, "stimulus": "a.png", "response": "cat", "rt": 0.5}, COLUMNS)
    with open(session.path, "a") as handle:
        handle.write("2,b.png,do")  # the process died while writing trial 2
    resumed = Session(tmp_path, "noise_degraded", "01", 1, resume=True)
    assert resumed.completed().trial.tolist() == ["1"]
    assert session.path.read_text().endswith("0.5\n")
    assert resumed.record["repairs"] == [f"removed an unfinished last line of {session.path.name}"]


def test_the_sidecar_is_replaced_whole(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(status="running", seed=3)
    session.save_record(status="completed")
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
    with pytest.raises(LabError, match="has no trial plan; this session cannot be resumed"):
        Session(tmp_path, "noise_degraded", "01", 1, resume=True)


def test_a_damaged_sidecar_is_refused_on_resume(tmp_path):
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.append({"trial": 1}, COLUMNS)
    session.sidecar_path.write_text('{"plan": [')
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
    assert len(synced) == 1
    assert json.loads(session.sidecar_path.read_text()) == {"status": "running"}
    assert session.sidecar_path.read_text().endswith("}\n")
