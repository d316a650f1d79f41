"""The ``psychoalign`` command line (typer + rich), one module per command group.

:data:`app` is the typer application and :func:`main` the ``psychoalign`` console
script. Each command imports what it needs (torch, matplotlib, the lab) when it runs, so
``psychoalign --help`` and ``import psychoalign.cli`` stay light.
"""

from __future__ import annotations

from typing import Annotated

import typer

from psychoalign import __version__
from psychoalign.cli import (
    _common,
    clickmaps,
    compare,
    datasets,
    demo,
    metamers,
    models,
    report,
    run,
    stimuli,
    sweep,
)

# The command modules export nothing for ``import *``; the command line is the interface.
__all__: list[str] = []

app = typer.Typer(
    name="psychoalign",
    help="Run psychophysics, run vision models on the same stimuli, compare humans and models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"psychoalign {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Run psychophysics, run vision models on the same stimuli, compare humans and models."""


# Single commands first, then the groups: the order of ``psychoalign --help``.
app.command()(compare.compare)
app.command()(demo.demo)
app.command()(report.report)
app.command()(run.run)
app.command()(models.evaluate)
app.command()(sweep.sweep)
app.add_typer(stimuli.stimuli_app, name="stimuli")
app.add_typer(models.models_app, name="models")
app.add_typer(clickmaps.clickmaps_app, name="clickmaps")
app.add_typer(metamers.metamers_app, name="metamers")
app.add_typer(datasets.datasets_app, name="datasets")


def main() -> None:
    """Entry point of the ``psychoalign`` console script.

    Ctrl-C before a command has started its work (while modules are imported or options
    read) has written nothing yet: it says so in one line instead of a traceback.
    """
    try:
        app(prog_name="psychoalign", standalone_mode=True)
    except KeyboardInterrupt:
        _common.console.print("interrupted; nothing was written.", markup=False)
        raise SystemExit(_common.INTERRUPTED) from None
