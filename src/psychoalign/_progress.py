"""The one way psychoalign makes a progress bar: on stderr, and only where someone watches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:  # rich.progress is imported when a bar is made, not at start-up
    from rich.progress import Progress, ProgressColumn

__all__ = ["progress_bar"]


def progress_bar(
    *columns: str | ProgressColumn,
    show: bool = True,
    transient: bool = False,
    console: Console | None = None,
) -> Progress:
    """A rich progress bar on stderr that draws only when stderr is a terminal (or Jupyter).

    Piped or redirected, a rich bar still prints its last frame, or a blank line when
    transient, at every stop: a run with many bars left a column of blank lines and
    control codes in the log. Disabled, it prints nothing.

    Parameters
    ----------
    *columns
        Columns of the bar (rich's defaults when none are given).
    show
        The caller's own switch (``progress=False`` turns the bar off everywhere).
    transient
        Remove the bar when it stops.
    console
        The console to draw on (default: a new one on stderr).

    Returns
    -------
    rich.progress.Progress
        The bar, to use as a context manager.
    """
    from rich.progress import Progress

    console = console if console is not None else Console(stderr=True)
    watched = console.is_terminal or console.is_jupyter
    return Progress(*columns, console=console, transient=transient, disable=not (show and watched))
