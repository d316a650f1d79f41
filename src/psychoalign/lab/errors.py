"""The error of the lab runtime: a problem found before (or instead of) running trials."""

from __future__ import annotations

from psychoalign.errors import LabError

__all__ = ["LabError", "SessionAborted"]


class SessionAborted(Exception):  # noqa: N818 - control flow, not an error
    """The experimenter pressed Esc and confirmed: stop, keeping every completed trial."""
