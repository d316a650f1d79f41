"""What every command shares: the error console, one-sentence errors, progress bars."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from psychoalign import _progress
from psychoalign.datasets import BUNDLED_STIMULUS_SETS, PUBLISHED_STIMULUS_SETS, stimulus_set
from psychoalign.errors import PsychoalignError, StimulusSetError

if TYPE_CHECKING:  # the stimuli (numpy, pandas, PIL) are imported when a set is opened
    from psychoalign.stimuli import StimulusSet

__all__ = [
    "INTERRUPTED",
    "USAGE_ERROR",
    "console",
    "print_note",
    "progress_bar",
    "source_set",
    "user_errors",
]

#: Messages and progress go to stderr; tables and paths to stdout.
console = Console(stderr=True)
#: Exit code of a refused input or option.
USAGE_ERROR = 2
#: Exit code after Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input ends the command with one sentence and exit code 2, never a traceback.

    So does an output that cannot be written (any ``OSError``: no permission, a read-only
    or immutable folder, no space, a file-size limit), named by its path or else by the
    command's ``--out``. Ctrl-C says in one line what was kept and exits with 130.
    """
    out = _out_option()
    before = _finished_files(out)
    try:
        yield
    except PsychoalignError as error:
        _error(str(error))
        raise typer.Exit(USAGE_ERROR) from None
    except OSError as error:
        from psychoalign._io import os_error_sentence

        _error(os_error_sentence(error, out))
        raise typer.Exit(USAGE_ERROR) from None
    except KeyboardInterrupt:
        console.print(_interrupted(out, before), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(INTERRUPTED) from None


def print_note(sentence: str, *, label: str = "note") -> None:
    """Print ``label: sentence`` on stderr as one line, however narrow the terminal."""
    console.print(f"{label}: {sentence}", markup=False, highlight=False, soft_wrap=True)


def _error(sentence: str) -> None:
    console.print(f"[bold red]error:[/] {escape(sentence)}", highlight=False, soft_wrap=True)


def _out_option() -> Path | None:
    """The running command's output (``--out``, or the lab's ``--data-dir``), if it has one."""
    try:  # typer 0.20+ carries its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context
    context = get_current_context(silent=True)
    for name in ("out", "data_dir"):
        value = None if context is None else context.params.get(name)
        if value is not None:
            return Path(value)
    return None


def _finished_files(out: Path | None) -> dict[str, tuple[int, int]]:
    """Size and modification time of every visible file at ``out`` (temporaries skipped)."""
    if out is None:
        return {}
    if out.is_file():
        stat = out.stat()
        return {str(out): (stat.st_size, stat.st_mtime_ns)}
    files = {}
    for folder, folders, names in os.walk(out):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            if not name.startswith("."):
                with suppress(OSError):
                    stat = os.stat(os.path.join(folder, name))
                    files[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
    return files


def _interrupted(out: Path | None, before: dict[str, tuple[int, int]]) -> str:
    """What Ctrl-C kept: temporaries are gone, finished files stay."""
    if out is None:
        return "interrupted; nothing half-written was left."
    after = _finished_files(out)
    written = sum(1 for path, stamp in after.items() if before.get(path) != stamp)
    if not written:
        return f"interrupted; nothing was written to {out}."
    files = "file is" if written == 1 else "files are"
    return f"interrupted; the {written} finished {files} kept under {out}, nothing half-written."


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[str], None]]:
    """Show a progress bar of ``total`` named steps; call the yielded function as each starts."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())
    with _progress.progress_bar(*columns, console=console) as progress:
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
    from psychoalign.stimuli import StimulusSet

    name = str(source)
    if not Path(source).exists() and name in (*BUNDLED_STIMULUS_SETS, *PUBLISHED_STIMULUS_SETS):
        return stimulus_set(name)
    return StimulusSet.open(source)


def source_set(source: str) -> StimulusSet:
    """Open a saved set, a plain <category>/<file> folder, a CSV listing, or a bundled set."""
    from psychoalign.stimuli import StimulusSet

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
