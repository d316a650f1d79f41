"""Helpers of the lab fault tests: start a session, watch its files, spoil its data folder.

A module of its own (not conftest) so that test files can import it by a name no other
test folder uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lab_support import lab_command, lab_env


def session_args(participant: str, trials: int, data: Path, config: Path) -> list[str]:
    return [
        *("--participant", participant, "--simulate", "random", "--trials", str(trials)),
        *("--data-dir", str(data), "--config", str(config)),
    ]


def start(paradigm: str, args: list[str], display: str, cache: Path) -> subprocess.Popen:
    return subprocess.Popen(
        lab_command(paradigm, *args),
        env=lab_env(display, cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rows(path: Path | None) -> int:
    """Completed rows of a trial file (0 when there is none)."""
    return max(path.read_text().count("\n") - 1, 0) if path and path.is_file() else 0


def trial_file(folder: Path, participant: str, *, practice: bool = False) -> Path | None:
    """The (practice) trial file of ``participant`` in ``folder``, None before it exists."""
    files = [
        p
        for p in folder.glob(f"sub-{participant}_ses-*.csv")
        if p.stem.endswith("_practice") == practice
    ]
    return files[0] if files else None


def sidecar(folder: Path, participant: str) -> dict[str, Any]:
    [path] = folder.glob(f"sub-{participant}_ses-*.json")
    return json.loads(path.read_text())


def wait_until(happened: Callable[[], bool], what: str, seconds: float = 180) -> None:
    """Block until ``happened()`` (polled every 10 ms), or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if happened():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def wait_for_rows(folder: Path, participant: str, count: int, *, practice: bool = False) -> None:
    """Block until the (practice) trial file of ``participant`` holds ``count`` rows."""
    wait_until(
        lambda: rows(trial_file(folder, participant, practice=practice)) >= count,
        f"{folder}: {count} rows of sub-{participant}",
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def one_sentence_refusal(result: subprocess.CompletedProcess | subprocess.Popen, stderr: str):
    """Exit code 2, one ``error:`` line, no traceback; the message with its line breaks joined."""
    assert result.returncode == 2, stderr[-2000:]
    assert len(error_lines(stderr)) == 1 and "Traceback" not in stderr, stderr[-2000:]
    return " ".join(stderr.split())


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """Make ``folder`` unwritable: immutable for root (whom modes do not stop), else mode 555."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)
