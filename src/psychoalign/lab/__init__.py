"""The PsychoPy runtime: sessions, frame-exact presentation, responses, simulated observers.

Importing this package does not import PsychoPy; running an experiment does.
"""

from __future__ import annotations

import sys

from psychoalign.lab.config import PARADIGMS, load_config
from psychoalign.lab.errors import LabError, SessionAborted
from psychoalign.lab.timing import frames

__all__ = ["PARADIGMS", "LabError", "SessionAborted", "frames", "load_config", "main"]


def main(paradigm: str) -> None:
    """Entry point of ``python experiments/<paradigm>.py [options]``: ``psychoalign run`` for it."""
    from psychoalign.cli import app

    app(["run", paradigm, *sys.argv[1:]], prog_name=f"python experiments/{paradigm}.py")
