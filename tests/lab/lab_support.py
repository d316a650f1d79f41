"""Helpers of the lab tests: the command that runs a paradigm, and its environment.

A module of its own (not conftest) so that test files can import it by a name no other
test folder uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def lab_command(paradigm: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "psychoalign.cli",
        "run",
        paradigm,
        "--window",
        "--refresh-rate",
        "60",
        *args,
    ]


def lab_env(display: str, cache: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DISPLAY": display, "PSYCHOALIGN_CACHE": str(cache), **extra}
