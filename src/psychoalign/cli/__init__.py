"""The ``psychoalign`` command line (typer + rich), one module per command group.

:data:`app` is the typer application and :func:`main` the ``psychoalign`` console
script. Each command imports what it needs (pandas, scipy, torch, matplotlib, the lab)
when it runs, inside :func:`~psychoalign.cli._common.user_errors`, so ``psychoalign
--help``, every command's ``--help`` and ``import psychoalign.cli`` stay light, and
Ctrl-C during those imports ends in one line and exit code 130.
"""

from __future__ import annotations

import sys

try:
    # Ctrl-C while the command line itself is imported: one line, no traceback.
    from typing import Annotated

    import typer
    from typer.core import TyperGroup

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
        web,
    )
except KeyboardInterrupt:
    sys.stderr.write("interrupted; nothing was written.\n")
    raise SystemExit(130) from None

# The command modules export nothing for ``import *``; the command line is the interface.
__all__: list[str] = []


class _Group(TyperGroup):
    """A command group whose ``--help``, when not given, is False rather than unset.

    typer coerces an unset value through pydantic, which it imports for that (about a
    tenth of a second): every ``psychoalign <group> <command> --help`` paid it for the
    ``--help`` of the groups above the command.
    """

    def get_help_option(self, ctx: typer.Context) -> typer.core.TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


class _Psychoalign(_Group):
    """The top-level group: Ctrl-C anywhere below it that no command caught is one line."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _common.console.print(
                "interrupted; nothing half-written was left.", markup=False, highlight=False
            )
            raise typer.Exit(_common.INTERRUPTED) from None


app = typer.Typer(
    name="psychoalign",
    cls=_Psychoalign,
    help="Run psychophysics, run vision models on the same stimuli, compare humans and models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _version_callback(value: bool) -> None:
    if value:
        from psychoalign import __version__  # the installed metadata, read only here

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
app.add_typer(stimuli.stimuli_app, name="stimuli", cls=_Group)
app.add_typer(models.models_app, name="models", cls=_Group)
app.add_typer(clickmaps.clickmaps_app, name="clickmaps", cls=_Group)
app.add_typer(metamers.metamers_app, name="metamers", cls=_Group)
app.add_typer(datasets.datasets_app, name="datasets", cls=_Group)
app.add_typer(web.web_app, name="web", cls=_Group)


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
