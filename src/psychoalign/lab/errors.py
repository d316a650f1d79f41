"""The error of the lab runtime: a problem found before (or instead of) running trials."""

from __future__ import annotations

__all__ = ["LabError", "SessionAborted"]


class LabError(ValueError):
    """A session cannot run as configured; the message names the file, option or setting."""


class SessionAborted(Exception):  # noqa: N818 - control flow, not an error
    """The experimenter pressed Esc and confirmed: stop, keeping every completed trial."""
