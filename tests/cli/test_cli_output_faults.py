"""Outputs a user can make impossible: one sentence naming the path, exit 2, nothing left.

Read-only or immutable folders, a file where a folder is wanted (and the reverse), no
space, a file-size limit, ``--out`` on another file system (a mount point), and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from support import HUMAN_RAW

runner = CliRunner()
PSYCHOALIGN = [sys.executable, "-m", "psychoalign.cli"]
EDGE = str(HUMAN_RAW / "edge")


def _one_error(output: str) -> str:
    """The one error line (a progress bar may have drawn its first step before it)."""
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


@contextlib.contextmanager
def _unwritable(folder: Path) -> Iterator[Path]:
    """``folder`` made unwritable: immutable for root (chmod cannot stop root), else 0o555."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield folder
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


@contextlib.contextmanager
def _mount_point(folder: Path, size: str = "16m") -> Iterator[Path]:
    """A tmpfs mounted at ``folder`` (root); else /dev/shm, a tmpfs on Linux, as it is."""
    if os.geteuid() != 0:
        before = set(os.listdir("/dev/shm"))
        yield Path("/dev/shm")
        for name in set(os.listdir("/dev/shm")) - before:
            with contextlib.suppress(OSError):
                os.unlink(Path("/dev/shm") / name)
        return
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_compare_onto_a_mount_point_writes_beside_its_target(tmp_path):
    """A tmpfs or Docker volume as --out: no 'Invalid cross-device link'."""
    with _mount_point(tmp_path / "volume") as volume:
        before = set(os.listdir(volume))
        result = runner.invoke(app, ["compare", EDGE, "--out", str(volume)])
        assert result.exit_code == 0, result.output
        written = sorted(set(os.listdir(volume)) - before)
    assert written == [
        f"{name}.{kind}"
        for name in ("accuracy", "benchmark", "error_consistency")
        for kind in ("csv", "json")
    ]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["stimuli", "make", "edge", "--manipulation", "grayscale", "--out"], "set"),
        (["compare", EDGE, "--out"], "tables"),
        (["report", EDGE, "--out"], "report.html"),
    ],
    ids=["stimuli-make", "compare", "report"],
)
def test_an_unwritable_folder_is_one_sentence_naming_the_output(tmp_path, command, expected):
    with _unwritable(tmp_path / "locked") as locked:
        result = runner.invoke(app, [*command, str(locked / expected)])
        assert result.exit_code == 2
        message = _one_error(result.output)
        assert message.startswith(f"error: {locked / expected}: ")
        assert ("operation not permitted" if os.geteuid() == 0 else "permission denied") in message
        assert os.listdir(locked) == []
    # Into an existing folder that cannot be written: the same, before any work.
    (tmp_path / "tables").mkdir()
    with _unwritable(tmp_path / "tables") as tables:
        result = runner.invoke(app, ["compare", EDGE, "--out", str(tables)])
        assert result.exit_code == 2 and f"error: {tables}: " in _one_error(result.output)
        assert os.listdir(tables) == []


@pytest.mark.parametrize(
    ("command", "out", "message"),
    [
        (
            ["stimuli", "make", "edge", "--manipulation", "grayscale"],
            "file",
            "file: is a file; give a folder for the stimulus set.",
        ),
        (
            ["stimuli", "make", "edge", "--manipulation", "grayscale", "--overwrite"],
            "file",
            "file: is a file; give a folder for the stimulus set.",
        ),
        (
            ["stimuli", "make", "edge", "--manipulation", "grayscale"],
            "file/set",
            "file/set: {tmp}/file is a file, not a folder.",
        ),
        (["compare", EDGE], "file", "file: is a file; give a folder for the output."),
        (["compare", EDGE], "file/tables", "file/tables: {tmp}/file is a file, not a folder."),
        (
            ["report", EDGE],
            "folder",
            "folder: is a folder; give the name of the file to write "
            "(e.g. {tmp}/folder/report.html).",
        ),
        (
            ["clickmaps", "build", EDGE],
            "folder.npz",
            "folder.npz: is a folder; give the name of the file to write "
            "(e.g. {tmp}/folder.npz/maps.npz).",
        ),
        (
            ["evaluate", "--stimuli", "edge"],
            "file",
            "file: is a file; give a folder for the output.",
        ),
        (
            ["metamers", "--layers", "_blocks.1", "--stimuli", "edge", "--steps", "8"],
            "file",
            "file: is a file; give a folder for the stimulus set.",
        ),
    ],
)
def test_a_file_where_a_folder_is_wanted_and_the_reverse(tmp_path, command, out, message):
    (tmp_path / "file").write_text("mine\n")
    for folder in ("folder", "folder.npz"):
        (tmp_path / folder).mkdir()
    result = runner.invoke(app, [*command, "--out", str(tmp_path / out)])
    assert result.exit_code == 2, result.output
    assert _one_error(result.output) == f"error: {tmp_path}/{message.format(tmp=tmp_path)}"
    assert sorted(os.listdir(tmp_path)) == ["file", "folder", "folder.npz"]
    assert (tmp_path / "file").read_text() == "mine\n" and not os.listdir(tmp_path / "folder")


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        (["stimuli", "make"], ["edge", "--manipulation", "grayscale"]),
        (["metamers"], ["--layers", "_blocks.1", "--stimuli", "edge", "--steps", "8"]),
        (["compare"], [EDGE]),
    ],
    ids=["stimuli-make", "metamers", "compare"],
)
def test_every_refusal_of_an_existing_output_names_overwrite(tmp_path, name, arguments):
    """Each command that refuses an existing --out says how to replace it, and has the option."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("mine\n")
    result = runner.invoke(app, [*name, *arguments, "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = _one_error(result.output)
    assert message.startswith(f"error: {out}: already exists") and "pass --overwrite" in message
    assert os.listdir(tmp_path) == ["out"] and os.listdir(out) == ["mine.txt"]
    assert "--overwrite" in runner.invoke(app, [*name, "--help"]).output


def _run(arguments: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PSYCHOALIGN, *arguments], capture_output=True, text=True, timeout=300, **options
    )


def _limit_file_size() -> None:
    # Python ignores SIGXFSZ, so a write past the limit raises EFBIG.
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_file_size_limit_is_one_sentence_and_leaves_nothing(tmp_path):
    out = tmp_path / "noisy"
    result = _run(
        [
            *("stimuli", "make", "edge", "--manipulation", "uniform-noise", "--levels", "0.2"),
            *("--out", str(out)),
        ],
        preexec_fn=_limit_file_size,
    )
    assert result.returncode == 2
    assert _one_error(result.stderr) == (
        f"error: {out}: the file would exceed the file-size limit (ulimit -f)."
    )
    assert os.listdir(tmp_path) == []


def test_a_full_disk_is_one_sentence_and_leaves_nothing(tmp_path):
    """A 1 MiB tmpfs fills up (without root: a file-size limit stands in for it)."""
    with _mount_point(tmp_path / "small", "1m") as small:
        before = set(os.listdir(small))
        out = small / "noisy" if os.geteuid() == 0 else tmp_path / "noisy"
        result = _run(
            ["stimuli", "make", "edge", "--manipulation", "uniform-noise", "--out", str(out)],
            preexec_fn=None if os.geteuid() == 0 else _limit_file_size,
        )
        assert result.returncode == 2
        words = "no space is left on the device" if os.geteuid() == 0 else "file-size limit"
        assert _one_error(result.stderr).startswith(f"error: {out}: {words}")
        assert set(os.listdir(small)) == before and not out.exists()


def test_ctrl_c_says_what_was_kept_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "noisy"
    child = subprocess.Popen(
        [
            *PSYCHOALIGN,
            *("stimuli", "make", "edge", "--manipulation", "uniform-noise"),
            *("--out", str(out)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A SIGINT that is ignored when the child starts (as in a background job) stays so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        # Mid-run: once the set is being built (its hidden staging folder exists).
        while child.poll() is None and not any(
            any(p.iterdir()) for p in tmp_path.glob(".noisy.building-*")
        ):
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, errors = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 130, errors
    lines = [line for line in errors.splitlines() if line.strip()]
    assert lines == [f"interrupted; nothing was written to {out}."]
    assert os.listdir(tmp_path) == []
