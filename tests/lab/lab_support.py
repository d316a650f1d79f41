"""Helpers of the lab tests: the command that runs a paradigm, and its environment.

A module of its own (not conftest) so that test files can import it by a name no other
test folder uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def lab_command(paradigm: str, *args: str, refresh_rate: str | None = "60") -> list[str]:
    """``psychoalign run PARADIGM --window`` with ``args``; ``refresh_rate`` None leaves
    ``--refresh-rate`` out (Xvfb has no vertical sync, so the rate is declared by default).
    """
    declared = ["--refresh-rate", refresh_rate] if refresh_rate is not None else []
    return [sys.executable, "-m", "psychoalign.cli", "run", paradigm, "--window", *declared, *args]


def lab_env(display: str, cache: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": display, "PSYCHOALIGN_CACHE": str(cache), **extra}
