"""Storage faults stop a session before the next trial, with every trial presented on disk.

The data folder becomes unwritable, the file-size limit (``ulimit -f``) or the disk is
reached, or the trial file is deleted mid-session: the session stops with one sentence
(exit code 2, no traceback) before presenting a trial it could not save, and the sidecar
says why. The first tests run real sessions; the others drive :class:`Session` directly.
"""

from __future__ import annotations

import json
import re
import resource
from pathlib import Path

import pytest
from lab_faults import (
    one_sentence_refusal,
    rows,
    session_args,
    sidecar,
    start,
    trial_file,
    unwritable,
    wait_for_rows,
)

from psychoalign.errors import OutputError
from psychoalign.lab.session import Session
from psychoalign.lab.storage import ROW_ROOM, room_problem
from psychoalign.trials import read_trials

COLUMNS = ["trial", "stimulus", "response", "rt"]
TRIALS = 8


def _stopped(process, errors: str, folder: Path, participant: str) -> tuple[str, int]:
    """The one-sentence message and the trial the session stopped before; checks the sidecar."""
    message = one_sentence_refusal(process, errors).split("error: ", 1)[1]
    before = int(re.search(r"the session stopped before trial (\d+)\.", message).group(1))
    assert 2 < before <= TRIALS  # it ran, then stopped before the end
    record = sidecar(folder, participant)
    assert " ".join(record["status"].split()) == f"stopped: {message}"
    # No temporary sidecar or probe is left behind (an unwritable folder keeps the lock).
    assert not [p for p in folder.glob(".sub-*") if p.suffix != ".lock"]
    return message, before


def _session_on_its_way(participant, tmp_path, fast_config, xvfb, cache):
    args = session_args(participant, TRIALS, tmp_path / "data", fast_config)
    process = start("noise_degraded", args, xvfb, cache)
    folder = tmp_path / "data" / "noise_degraded"
    wait_for_rows(folder, participant, 2)
    return process, folder


def test_a_data_folder_made_unwritable_stops_the_session_before_the_next_trial(
    xvfb, cache, tmp_path, fast_config
):
    process, folder = _session_on_its_way("81", tmp_path, fast_config, xvfb, cache)
    with unwritable(folder):
        _, errors = process.communicate(timeout=180)
        message, before = _stopped(process, errors, folder, "81")
    assert f"{folder}: the data folder can no longer be written" in message
    # Every trial presented was saved (a row can be appended to a file in the folder).
    kept = read_trials(trial_file(folder, "81"))
    assert kept.trial.tolist() == list(range(1, before))
    plan = [trial["stimulus"] for trial in sidecar(folder, "81")["plan"]]
    assert kept.stimulus.tolist() == plan[: before - 1]


def test_a_file_size_limit_reached_stops_the_session_before_the_next_trial(
    xvfb, cache, tmp_path, fast_config
):
    process, folder = _session_on_its_way("82", tmp_path, fast_config, xvfb, cache)
    path = trial_file(folder, "82")
    # ulimit -f lowered under the running session: room for one more row, not for more.
    _, hard = resource.prlimit(process.pid, resource.RLIMIT_FSIZE)
    limit = path.stat().st_size + ROW_ROOM + 100
    resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (limit, hard))
    _, errors = process.communicate(timeout=180)
    message, before = _stopped(process, errors, folder, "82")
    assert f"{path}: the file-size limit (ulimit -f) of {limit} bytes leaves" in message
    assert read_trials(path).trial.tolist() == list(range(1, before))


def test_a_trial_file_deleted_mid_session_stops_it_and_is_not_made_again(
    xvfb, cache, tmp_path, fast_config
):
    process, folder = _session_on_its_way("83", tmp_path, fast_config, xvfb, cache)
    path = trial_file(folder, "83")
    path.unlink()
    _, errors = process.communicate(timeout=180)
    message = one_sentence_refusal(process, errors).split("error: ", 1)[1]
    assert message.startswith(f"{path}: ") and "the trial file was deleted" in message
    # Never a new file of the trials after it, under a header or not.
    assert not path.exists()
    assert " ".join(sidecar(folder, "83")["status"].split()) == f"stopped: {message}"


def _one_trial(tmp_path: Path) -> Session:
    session = Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    session.save_record(plan=[], status="running")
    session.append({"trial": 1, "stimulus": "a.png", "response": "cat", "rt": 0.5}, COLUMNS)
    return session


def test_a_row_beyond_the_file_size_limit_is_refused_and_not_half_written(tmp_path):
    with _one_trial(tmp_path) as session:
        before = session.path.read_bytes()
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 10, hard))
        try:  # Python ignores SIGXFSZ: the write fails with EFBIG
            with pytest.raises(OutputError) as refused:
                session.append({"trial": 2, "stimulus": "b" * 40 + ".png"}, COLUMNS)
            with pytest.raises(OutputError) as not_presented:
                session.ready("trial 2")
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        assert str(refused.value) == f"{session.path}: trial 2 could not be saved (File too large)."
        assert session.path.read_bytes() == before  # the part that fitted was taken back
        assert str(not_presented.value).startswith(
            f"{session.path}: the file-size limit (ulimit -f) of {len(before) + 10} bytes leaves "
            f"10 bytes, less than the {ROW_ROOM} needed"
        )
        assert str(not_presented.value).endswith("; the session stopped before trial 2.")
        session.append({"trial": 2, "stimulus": "b.png"}, COLUMNS)  # room again: it goes on
        assert session.completed().trial.tolist() == ["1", "2"]


def test_a_full_disk_is_named_with_its_free_space(tmp_path):
    with _one_trial(tmp_path) as session:
        huge = 1 << 60  # more than any disk has free
        problem = room_problem(session.path, 0, huge)
        assert re.fullmatch(
            rf"{re.escape(str(session.path))}: the disk is full \(\d+ KiB free, {huge // 1024} "
            r"KiB needed\)",
            problem,
        )
        assert room_problem(session.path, 0, ROW_ROOM) is None


def test_an_unwritable_folder_stops_before_the_trial_and_the_sidecar_is_rewritten_in_place(
    tmp_path,
):
    with _one_trial(tmp_path) as session, unwritable(session.folder):
        with pytest.raises(OutputError) as refused:
            session.ready("trial 2")
        assert re.fullmatch(
            rf"{re.escape(str(session.folder))}: the data folder can no longer be written "
            r"\((Operation not permitted|Permission denied)\); the session stopped before "
            r"trial 2\.",
            str(refused.value),
        )
        session.save_record(status="stopped: the folder")  # not atomically: in place
        assert json.loads(session.sidecar_path.read_text())["status"] == "stopped: the folder"
        # A row can still be appended to the file that exists (trials in progress are saved).
        session.append({"trial": 2, "stimulus": "b.png"}, COLUMNS)
        assert rows(session.path) == 2
        with unwritable(session.sidecar_path), pytest.raises(OutputError) as failed:
            session.save_record(status="stopped: again")
        assert str(failed.value).startswith(f"{session.sidecar_path}: cannot be written (")
        assert "nor rewritten in place" in str(failed.value)
    assert sorted(p.name for p in session.folder.iterdir()) == sorted(
        [session.path.name, session.sidecar_path.name]
    )


def test_a_session_cannot_start_in_an_unwritable_folder(tmp_path):
    folder = tmp_path / "noise_degraded"
    folder.mkdir()
    with unwritable(folder), pytest.raises(OutputError) as refused:
        Session(tmp_path, "noise_degraded", "01", 1, resume=False)
    assert str(refused.value).startswith(
        f"{folder / '.sub-01_ses-1.lock'}: the session lock cannot be created, so the data "
        "folder cannot be written ("
    )


def test_a_trial_file_deleted_or_changed_is_found_before_the_trial(tmp_path):
    with _one_trial(tmp_path) as session:
        with open(session.path, "a") as other:  # another program writes to it
            other.write("9,x.png,,\n")
        with pytest.raises(OutputError, match="was changed by another program during the session"):
            session.ready("trial 2")
        session.path.unlink()
        with pytest.raises(OutputError) as refused:
            session.ready("trial 2")
        assert str(refused.value) == (
            f"{session.path}: the trial file was deleted during the session; the session "
            "stopped before trial 2."
        )
        with pytest.raises(OutputError, match="trial 2 could not be saved: the trial file was"):
            session.append({"trial": 2, "stimulus": "b.png"}, COLUMNS)
        assert not session.path.exists()  # not made again without its header and trial 1
