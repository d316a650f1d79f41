"""``psychoalign clickmaps``: human ClickMe maps from the clickme task, and model alignment."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from psychoalign._checks import number_at_least, whole_number
from psychoalign.cli._common import print_note, progress_bar, user_errors
from psychoalign.cli.models import TrustPickle
from psychoalign.errors import ClickMapError

__all__: list[str] = []

clickmaps_app = typer.Typer(
    help="ClickMe maps: human maps from the clickme task, and model alignment.",
    no_args_is_help=True,
)


@clickmaps_app.command("build")
def clickmaps_build(
    trials: Annotated[list[Path], typer.Argument(help="Trial files or folders of clickme.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Maps file to write (.npz).")] = Path(
        "maps.npz"
    ),
    stimuli: Annotated[
        Path | None, typer.Option(help="Stimulus set shown (default: from the sidecars).")
    ] = None,
    min_participants: Annotated[
        int, typer.Option(help="Keep images clicked by at least this many participants.")
    ] = 1,
    min_clicks: Annotated[
        int, typer.Option(help="Count a participant on an image from this many clicks.")
    ] = 1,
    blur: Annotated[float, typer.Option(help="Disc blur diameter in px at 224 px.")] = 21,
) -> None:
    """Build human ClickMe maps (point maps, averaged, disc-blurred twice)."""
    with user_errors():
        # Refused before any file is read, naming the option as typed.
        whole_number("--min-participants", min_participants, 1, error=ClickMapError)
        whole_number("--min-clicks", min_clicks, 1, error=ClickMapError)
        number_at_least("--blur", blur, 0, error=ClickMapError)
        from psychoalign.workflows.clickmaps import build_clickmaps

        maps = build_clickmaps(
            trials,
            out,
            stimuli=stimuli,
            min_participants=min_participants,
            min_clicks=min_clicks,
            blur_diameter=blur,
        )
    summary = maps.summary()
    typer.echo(
        f"{out.with_suffix('.npz')}: {len(summary)} images, "
        f"{int(summary['n_participants'].max()) if len(summary) else 0} participants at most"
    )


@clickmaps_app.command("align")
def clickmaps_align(
    maps: Annotated[Path, typer.Argument(help="Maps file made by 'clickmaps build'.")],
    model: Annotated[
        list[str] | None,
        typer.Option(help="Model name, repeat for several [default: efficientnet_lite0]."),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            help="saliency, smoothgrad, integrated_gradients or occlusion, repeat for several "
            "[default: saliency]."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "results/clickmaps"
    ),
    n_splits: Annotated[int, typer.Option(help="Split halves for the human ceiling.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of splits, floor and bootstrap.")] = 0,
    trust_pickle: TrustPickle = False,
) -> None:
    """Align model feature-importance maps with the human maps: tables and figures."""
    model, method = model or ["efficientnet_lite0"], method or ["saliency"]
    with user_errors():
        from psychoalign.workflows.clickmaps import align_clickmaps, open_human_maps

        open_human_maps(maps)  # a wrong file is refused before torch and any model load
        from psychoalign.models import IMPORTANCE_METHODS

        unknown = [name for name in method if name not in IMPORTANCE_METHODS]
        if unknown:
            raise ClickMapError(
                f"--method: '{unknown[0]}' is not one of {', '.join(IMPORTANCE_METHODS)}."
            )
        whole_number("--n-splits", n_splits, 0, error=ClickMapError)
        with progress_bar(len(model) * len(method)) as step:
            summary = align_clickmaps(
                maps,
                model,
                out,
                methods=method,
                n_splits=n_splits,
                seed=seed,
                progress=step,
                trust_pickle=trust_pickle,
            )
    for note in dict.fromkeys(note for note in summary["ceiling_note"] if note):
        print_note(f"{note}; the score (ρ / ceiling) is '–'.", label="warning")
    table = Table(title=f"ClickMe alignment ({out})")
    for column in ("model", "method", "images", "ρ", "ceiling", "floor", "score"):
        table.add_column(column)
    for row in summary.itertuples(index=False):
        table.add_row(
            row.model,
            row.method,
            str(row.n_images),
            _number(row.spearman),
            _number(row.ceiling),
            _number(row.floor),
            _number(row.score),
        )
    Console().print(table)


def _number(value: float) -> str:
    """A table cell: three decimals, or '–' where there is no value (NaN)."""
    return f"{value:.3f}" if math.isfinite(value) else "–"
