"""The refusals of the online game: one error type carrying its HTTP status."""

from __future__ import annotations

from psychoalign.errors import PsychoalignError

__all__ = ["WebError"]


class WebError(PsychoalignError, ValueError):
    """A request or server setting the game cannot use; the message says what and why.

    Parameters
    ----------
    message
        One sentence.
    status
        The HTTP status a request refused with this error answers (400 for settings).

    Examples
    --------
    >>> error = WebError("trial 3 has ended.", status=409)
    >>> error.status, str(error)
    (409, 'trial 3 has ended.')
    """

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status
