"""What every command shares: the error console, one-sentence errors, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from psychoalign.datasets import BUNDLED_STIMULUS_SETS, PUBLISHED_STIMULUS_SETS, stimulus_set
from psychoalign.errors import PsychoalignError, StimulusSetError
from psychoalign.stimuli import StimulusSet

__all__ = ["USAGE_ERROR", "console", "progress_bar", "source_set", "user_errors"]

#: Messages and progress go to stderr; tables and paths to stdout.
console = Console(stderr=True)
#: Exit code of a refused input or option.
USAGE_ERROR = 2


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input ends the command with one sentence and exit code 2, never a traceback."""
    try:
        yield
    except PsychoalignError as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(USAGE_ERROR) from None


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[str], None]]:
    """Show a progress bar of ``total`` named steps; call the yielded function as each starts."""
    columns = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def step(description: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=description)

        yield step
        progress.update(task, description="done", completed=total)


def saved_set(source: str | Path) -> StimulusSet:
    """A saved stimulus set's folder, or a bundled or fetched published set by its name."""
    name = str(source)
    if not Path(source).exists() and name in (*BUNDLED_STIMULUS_SETS, *PUBLISHED_STIMULUS_SETS):
        return stimulus_set(name)
    return StimulusSet.open(source)


def source_set(source: str) -> StimulusSet:
    """Open a saved set, a plain <category>/<file> folder, a CSV listing, or a bundled set."""
    path = Path(source)
    if (path / "manifest.csv").is_file():
        return StimulusSet.open(path)
    if path.is_dir():
        return StimulusSet.from_folder(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return StimulusSet.from_csv(path)
    if source in BUNDLED_STIMULUS_SETS or source in PUBLISHED_STIMULUS_SETS:
        # A published set not fetched yet is refused naming `psychoalign datasets fetch`.
        return stimulus_set(source)
    raise StimulusSetError(
        f"{source}: is neither a stimulus set, a <category>/<file> folder, a CSV listing, "
        f"a bundled set ({', '.join(BUNDLED_STIMULUS_SETS)}) nor a published set "
        f"({', '.join(PUBLISHED_STIMULUS_SETS)}; psychoalign datasets fetch NAME)."
    )
