"""Atomic writes (psychoalign._io): the user's umask, temporaries beside their target, stale
temporaries of killed processes, and OSErrors in one sentence."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from psychoalign._io import (
    atomic_file,
    current_umask,
    os_error_sentence,
    public_path,
    replaced_folder,
    staged_outputs,
    staging_folder,
    swap_folder,
    write_text_atomic,
)
from psychoalign.datasets import stimulus_set
from psychoalign.errors import OutputError
from psychoalign.provenance import write_outputs
from psychoalign.trials import write_trials
from support import make_trials


def _modes(root: Path) -> tuple[set[int], set[int]]:
    """The permission bits of every folder (root included) and every file under ``root``."""
    folders = {stat.S_IMODE(root.stat().st_mode)}
    files = set()
    for path in root.rglob("*"):
        (folders if path.is_dir() else files).add(stat.S_IMODE(path.stat().st_mode))
    return folders, files


@pytest.mark.parametrize(
    ("umask", "folder_mode", "file_mode"), [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)]
)
def test_sets_tables_and_sidecars_get_the_users_umask(tmp_path, umask, folder_mode, file_mode):
    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        made = stimulus_set("edge").subset(categories=["bear"]).write(tmp_path / "set")
        write_outputs({"accuracy": pd.DataFrame({"a": [1]})}, tmp_path / "tables", {})
        write_trials(make_trials([("s1", "human", "a.png", "cat", "cat")]), tmp_path / "t.csv")
        sidecar = write_text_atomic(tmp_path / "sub-1.json", "{}\n")  # the lab's sidecar path
    finally:
        os.umask(previous)
    assert _modes(made.path) == ({folder_mode}, {file_mode})
    assert _modes(tmp_path / "tables") == ({folder_mode}, {file_mode})
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == file_mode
    assert stat.S_IMODE(sidecar.stat().st_mode) == file_mode


def test_temporaries_are_hidden_beside_their_target_and_named_for_it(tmp_path):
    target = tmp_path / "out" / "maps.npz"
    with atomic_file(target, "wb") as handle:
        [temporary] = [p for p in target.parent.iterdir()]
        assert temporary.name.startswith(".maps.npz.")
        assert public_path(temporary) == target
        handle.write(b"x")
    assert [p.name for p in target.parent.iterdir()] == ["maps.npz"]
    staging = staging_folder(tmp_path / "set", "building-")
    assert staging.parent == tmp_path and public_path(staging / "a" / "b.png") == (
        tmp_path / "set" / "a" / "b.png"
    )


def _leave_temporaries(tmp_path: Path, wait: bool) -> subprocess.Popen:
    """A process that makes a staging folder and a temporary file for ``tmp_path/set``."""
    code = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from psychoalign._io import atomic_file, staging_folder
        staging_folder({str(tmp_path / "set")!r}, "building-")
        manager = atomic_file({str(tmp_path / "set")!r})
        manager.__enter__()
        print("ready", flush=True)
        if {wait}:
            time.sleep(600)
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up can run
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "ready\n"
    return child


def test_a_killed_processs_temporaries_are_removed_by_the_next_write_a_live_ones_kept(tmp_path):
    killed = _leave_temporaries(tmp_path, wait=False)
    assert killed.wait() == -signal.SIGKILL
    assert len(list(tmp_path.iterdir())) == 2  # SIGKILL leaves them behind
    alive = _leave_temporaries(tmp_path, wait=True)
    try:
        with replaced_folder(tmp_path / "set") as staging:
            (staging / "a.txt").write_text("a")
        names = sorted(p.name for p in tmp_path.iterdir())
        # The killed process's two are gone; the live process's two are left alone.
        assert len(names) == 3 and names[-1] == "set", names
    finally:
        alive.kill()
        alive.wait()
    write_text_atomic(tmp_path / "set" / "b.txt", "b")
    staging_folder(tmp_path / "set").rmdir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_staged_outputs_appear_at_once_and_keep_the_other_files_of_a_folder(tmp_path):
    out = tmp_path / "new"
    with staged_outputs(out) as staging:
        (staging / "a.csv").write_text("1\n")
        assert not out.exists()  # nothing on view until the block ends
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]
    (out / "mine.txt").write_text("kept")
    with staged_outputs(out) as staging:
        assert staging.parent == out  # inside: the same file system even for a mount point
        (staging / "a.csv").write_text("2\n")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "mine.txt"]
    assert (out / "a.csv").read_text() == "2\n"
    with pytest.raises(KeyError), staged_outputs(out) as staging:
        (staging / "a.csv").write_text("3\n")
        raise KeyError("stopped")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.csv", "mine.txt", "new"]
    assert (out / "a.csv").read_text() == "2\n"


def test_outputs_that_cannot_be_are_refused_naming_the_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match=r"file: is a file; give a folder for the output\.$"):
        write_outputs({"a": pd.DataFrame({"a": [1]})}, tmp_path / "file", {})
    with pytest.raises(OutputError, match=r"file/x: .*file is a file, not a folder\.$"):
        write_outputs({"a": pd.DataFrame({"a": [1]})}, tmp_path / "file" / "x", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_swap_folder_reports_a_failed_rename_as_it_is(tmp_path):
    staging = staging_folder(tmp_path / "set")
    with pytest.raises(OSError) as raised:
        swap_folder(staging, tmp_path / "missing" / "set", replace=False)
    assert raised.value.errno == errno.ENOENT  # not disguised as "already exists"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "permission denied; choose a folder you can write to"),
        (errno.EPERM, "operation not permitted (is the folder read-only or immutable?)"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "no space is left on the device"),
        (errno.EFBIG, "the file would exceed the file-size limit (ulimit -f)"),
        (errno.EXDEV, "it is a mount point or on another file system; give a folder inside it"),
        (errno.ENOTDIR, "a part of the path is a file, not a folder"),
    ],
)
def test_os_errors_are_one_sentence_naming_the_path_the_user_gave(code, words):
    temporary = "/data/.out.building-0123abcd-42-x1y2z3/edge/a.png"
    error = OSError(code, os.strerror(code), temporary)
    assert os_error_sentence(error) == f"/data/out/edge/a.png: {words}."
    assert os_error_sentence(OSError(code, os.strerror(code)), "/data/out") == (
        f"/data/out: {words}."
    )
    renamed = OSError(code, os.strerror(code), "/d/.r.html.0123abcd-42-abc", "/d/r.html")
    assert os_error_sentence(renamed) == f"/d/r.html: {words}."
