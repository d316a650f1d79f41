"""``psychoalign datasets``: fetch published stimulus sets into the cache, list them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from psychoalign.cli._common import user_errors

__all__: list[str] = []

datasets_app = typer.Typer(
    help="Fetch published stimulus sets (pinned SHA-256 checksums) into the cache.",
    no_args_is_help=True,
)

_CACHE_HELP = "Cache folder (default: $PSYCHOALIGN_CACHE or the user cache)."


@datasets_app.command("fetch")
def datasets_fetch(
    name: Annotated[str, typer.Argument(help="Published set: cue-conflict, edge or silhouette.")],
    cache: Annotated[Path | None, typer.Option(help=_CACHE_HELP)] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Base URL of a mirror (default: $PSYCHOALIGN_DATASETS_URL or upstream)."
        ),
    ] = None,
) -> None:
    """Download a published set, verify every file's SHA-256 and index it (once)."""
    with user_errors():
        from psychoalign.workflows.datasets import fetch_stimulus_set

        fetched = fetch_stimulus_set(name, cache=cache, base_url=url, progress=True)
    typer.echo(f"{fetched.path}: {len(fetched)} stimuli, checksum {fetched.checksum}")


@datasets_app.command("list")
def datasets_list(cache: Annotated[Path | None, typer.Option(help=_CACHE_HELP)] = None) -> None:
    """List the published stimulus sets and whether they are in the cache."""
    with user_errors():
        from psychoalign.workflows.datasets import published_stimulus_sets

        listed = published_stimulus_sets(cache=cache)
    table = Table(title="Published stimulus sets (psychoalign datasets fetch NAME)")
    for column in ("name", "files", "fetched", "path"):
        table.add_column(column, overflow="fold")
    for row in listed.itertuples(index=False):
        table.add_row(row.name, str(row.n_files), "yes" if row.fetched else "no", row.path)
    Console().print(table)
