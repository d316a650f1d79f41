"""``psychoalign stimuli``: make, verify and look at stimulus sets.

Each command imports :mod:`psychoalign.stimuli` (numpy, pandas, PIL) when it runs, so
``psychoalign --help`` and ``psychoalign stimuli --help`` stay light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psychoalign.cli._common import source_set, user_errors
from psychoalign.errors import StimulusSetError

__all__: list[str] = []

stimuli_app = typer.Typer(help="Make, verify and look at stimulus sets.", no_args_is_help=True)


@stimuli_app.command("make")
def stimuli_make(
    source: Annotated[
        str,
        typer.Argument(
            help="Source: stimulus set, <category>/<file> folder, CSV listing or bundled set name."
        ),
    ],
    manipulation: Annotated[
        str, typer.Option(help="Degradation (see `psychoalign stimuli manipulations`).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the new stimulus set.")],
    levels: Annotated[
        str | None,
        typer.Option(help="Comma-separated level labels (default: the manipulation's own)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
    name: Annotated[
        str | None, typer.Option(help="Name of the new set (default: folder name).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing set at --out.")] = False,
) -> None:
    """Make a stimulus set: every source image at every level of one degradation."""
    with user_errors():
        from psychoalign.stimuli import MANIPULATIONS, make_stimulus_set

        if manipulation not in MANIPULATIONS:
            raise StimulusSetError(
                f"--manipulation: '{manipulation}' is not one of {', '.join(MANIPULATIONS)} "
                "(psychoalign stimuli manipulations lists them)."
            )
        labels = None if levels is None else [label.strip() for label in levels.split(",")]
        made = make_stimulus_set(
            source_set(source),
            manipulation,
            out,
            levels=labels,
            seed=seed,
            name=name,
            overwrite=overwrite,
        )
    typer.echo(
        f"{made.path}: {len(made)} stimuli, {len(made.conditions)} conditions, "
        f"checksum {made.checksum}"
    )


@stimuli_app.command("verify")
def stimuli_verify(folder: Annotated[Path, typer.Argument(help="Stimulus set folder.")]) -> None:
    """Check every file of a set against its SHA-256; exit 1 listing every bad file."""
    with user_errors():
        from psychoalign.stimuli import StimulusSet

        stimuli = StimulusSet.open(folder)
        problems = stimuli.verify()
    if len(problems):
        for problem in problems.itertuples(index=False):
            typer.echo(f"{problem.path}: {problem.problem}")
        typer.echo(f"{folder}: {len(problems)} of {len(stimuli)} stimuli are bad.", err=True)
        raise typer.Exit(1)
    typer.echo(f"{folder}: all {len(stimuli)} stimuli intact (checksum {stimuli.checksum}).")


@stimuli_app.command("show")
def stimuli_show(
    folder: Annotated[Path, typer.Argument(help="Stimulus set folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file of the contact sheet.")],
    images: Annotated[int, typer.Option(help="Number of source images (rows).")] = 8,
) -> None:
    """Draw a contact sheet (images x conditions) and the CSV of what it shows."""
    with user_errors():
        from psychoalign.stimuli import StimulusSet, contact_sheet

        table = contact_sheet(StimulusSet.open(folder), out, n_images=images)
    typer.echo(f"{out}: {table.row.nunique()} images x {table.column.nunique()} conditions")


@stimuli_app.command("manipulations")
def stimuli_manipulations() -> None:
    """List the degradations with their default levels and valid range."""
    from rich.console import Console
    from rich.table import Table

    from psychoalign.stimuli import MANIPULATIONS

    table = Table(title="Degradations (Geirhos et al. 2018)")
    for column in ("name", "default levels", "valid levels"):
        table.add_column(column)
    for method in MANIPULATIONS.values():
        table.add_row(method.name, ", ".join(method.default_levels), method.valid)
    Console().print(table)
