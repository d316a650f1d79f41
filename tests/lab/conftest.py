"""Lab tests run real PsychoPy windows on an Xvfb display the tests start themselves."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from lab_support import lab_command, lab_env

FAST = """
practice_trials: 2
simulation: {rt_ms: [80, 160]}
"""


@pytest.fixture(scope="session")
def xvfb():
    """A virtual X display of its own for the whole test session (one per xdist worker)."""
    server, display = _start_xvfb()
    yield display
    server.terminate()
    server.wait(timeout=10)


def _start_xvfb(attempts: int = 20) -> tuple[subprocess.Popen, str]:
    """Start Xvfb on a free display number and wait until it accepts connections.

    The number is picked here rather than with ``-displayfd``: two servers started at the
    same moment by two test workers could otherwise be told the same number.
    """
    number = 100 + os.getpid() % 800
    for _ in range(attempts):
        number += 1
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        server = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _accepts_connections(f":{number}", server):
            return server, f":{number}"
        server.kill()
        server.wait(timeout=10)
    raise RuntimeError(f"Xvfb did not start on any of {attempts} display numbers.")


def _accepts_connections(display: str, server: subprocess.Popen, seconds: float = 20) -> bool:
    """Whether the X server answers within ``seconds`` (False as soon as it exits)."""
    from Xlib import display as xdisplay
    from Xlib.error import DisplayConnectionError

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            xdisplay.Display(display).close()
            return True
        except DisplayConnectionError:
            time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    """Stimulus sets the paradigms derive from bundled ones, built once per test session."""
    return tmp_path_factory.mktemp("psychoalign-cache")


@pytest.fixture
def fast_config(tmp_path) -> Path:
    path = tmp_path / "fast.yaml"
    path.write_text(FAST)
    return path


@pytest.fixture
def run_lab(xvfb, cache):
    """Run `psychoalign run PARADIGM ...` in a subprocess on the virtual display."""

    def run(
        paradigm: str, *args: str, timeout: float = 240, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            lab_command(paradigm, *args),
            env=lab_env(xvfb, cache, **env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
