"""Every refusal a user can meet: one base class, one subclass per part of the toolkit.

Each message is one sentence that names the file, row and column, or the parameter, at
fault. The command line catches :class:`PsychoalignError` alone and exits with code 2;
Python callers may catch it, the subclass, or ``ValueError`` (every subclass but
:class:`MissingFileError` and :class:`OutputError` is also a ``ValueError``;
those two are ``OSError`` s: ``FileNotFoundError`` and ``OSError``).

Examples
--------
>>> from psychoalign.errors import PsychoalignError, TrialDataError
>>> issubclass(TrialDataError, PsychoalignError), issubclass(TrialDataError, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = [
    "ClickMapError",
    "LabError",
    "MissingFileError",
    "ModelError",
    "OutputError",
    "ParameterError",
    "PsychoalignError",
    "ReportError",
    "StimulusSetError",
    "TrialDataError",
]


class PsychoalignError(Exception):
    """Base of every error psychoalign raises for input it cannot use."""


class ParameterError(PsychoalignError, ValueError):
    """A parameter value that cannot be used; the message names the parameter."""


class TrialDataError(PsychoalignError, ValueError):
    """A trial table or trial file that does not follow the schema; the message says where."""


class StimulusSetError(PsychoalignError, ValueError):
    """A stimulus, stimulus set or parameter that cannot be used; the message says which."""


class ModelError(PsychoalignError, ValueError):
    """A model, its weights or its labels cannot be used; the message says what to do."""


class ClickMapError(PsychoalignError, ValueError):
    """Clicks, click maps or map parameters that cannot be used; the message says which."""


class LabError(PsychoalignError, ValueError):
    """A session cannot run as configured; the message names the file, option or setting."""


class ReportError(PsychoalignError, ValueError):
    """A results folder that cannot be reported; the message names the folder or file."""


class MissingFileError(PsychoalignError, FileNotFoundError):
    """An input file or folder that does not exist; the message names the path."""


class OutputError(PsychoalignError, OSError):
    """An output that cannot be written where asked; the message names the path."""
