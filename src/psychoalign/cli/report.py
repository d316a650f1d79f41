"""``psychoalign report``: one self-contained HTML report of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psychoalign.cli._common import user_errors

__all__: list[str] = []


def report(
    results: Annotated[Path, typer.Argument(help="Results folder (figures, tables/, stats/).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    title: Annotated[str, typer.Option(help="Title of the report.")] = "psychoalign report",
) -> None:
    """Write one self-contained HTML report (images embedded) of a results folder."""
    with user_errors():
        from psychoalign.report import build_report

        written = build_report(results, out, title=title)
    typer.echo(f"{written}")
