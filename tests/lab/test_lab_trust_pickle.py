"""A pickled model file simulates a participant only with --trust-pickle, checked windowless."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch


class _Marker:
    """Unpickling this creates ``path``: the proof that loading ran code from the file."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    # No display: the model is loaded before the window opens, and this proves it.
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    command = [sys.executable, "-m", "psychoalign.cli", "run", "rapid_categorization"]
    return subprocess.run(
        [
            *command,
            *("--participant", "07", "--simulate", f"model:{tmp_path / 'evil.pt'}"),
            *("--data-dir", str(tmp_path / "data"), "--window", "--refresh-rate", "60", *extra),
        ],
        capture_output=True,
        text=True,
        env={**environment, "PSYCHOALIGN_CACHE": str(tmp_path / "cache")},
        timeout=240,
    )


def test_a_pickled_model_file_simulates_a_participant_only_with_trust_pickle(tmp_path):
    marker = tmp_path / "MARKER"
    torch.save({"model": _Marker(marker)}, tmp_path / "evil.pt")
    refused = _run(tmp_path)
    assert refused.returncode == 2, refused.stderr
    [error] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "evil.pt: is a pickled model" in error and "--trust-pickle" in error
    assert "Traceback" not in refused.stderr and not marker.exists()
    left = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert left == []  # no session was started, and its lock is gone
    trusted = _run(tmp_path, "--trust-pickle")
    assert marker.exists()  # trusted, the file's code ran: the refusal above protected us
    assert trusted.returncode == 2 and "Traceback" not in trusted.stderr, trusted.stderr
    assert "not a model" in trusted.stderr
