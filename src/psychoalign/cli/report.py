"""``psychoalign report``: one self-contained HTML report of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psychoalign.cli._common import user_errors

__all__: list[str] = []


def report(
    results: Annotated[
        Path,
        typer.Argument(
            help="Output folder of compare, evaluate, clickmaps align, metamers "
            "recognisability / published, run or the demo, or a folder of such outputs."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    title: Annotated[str, typer.Option(help="Title of the report.")] = "psychoalign report",
) -> None:
    """Write one self-contained HTML report (images embedded) of a results folder.

    Every output psychoalign wrote in the folder is shown: its tables, and its figures
    (drawn from the tables where the folder holds none). A folder with nothing psychoalign
    wrote is refused (exit code 2).
    """
    with user_errors():
        from psychoalign.report import build_report

        written = build_report(results, out, title=title)
    typer.echo(f"{written}")
