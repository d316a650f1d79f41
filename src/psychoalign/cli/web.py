"""``psychoalign web``: serve the online ClickMe game, export its data as trial files.

fastapi, uvicorn, sqlalchemy, torch, numpy and pandas are imported when a command runs,
so ``psychoalign --help`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from psychoalign.cli._common import user_errors
from psychoalign.errors import ParameterError

if TYPE_CHECKING:
    from psychoalign.rules import ClickMeRules

__all__: list[str] = []

web_app = typer.Typer(
    help="The online ClickMe game: serve it, export its data as ClickMe trial files.",
    no_args_is_help=True,
)


def _web_modules() -> None:
    """Refuse in one sentence when the web extra is not installed."""
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise ParameterError(
            f"web: the online game needs pip install 'psychoalign[web]' ({error})."
        ) from None


@web_app.command("serve")
def web_serve(
    stimuli: Annotated[str, typer.Option(help="Bundled stimulus set name or set folder.")],
    db: Annotated[
        str | None, typer.Option(help="Database URL [default: sqlite:///clickme.sqlite].")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: Annotated[str, typer.Option(help="Model the bubbles are revealed to.")] = (
        "efficientnet_lite0"
    ),
    mapping: Annotated[str, typer.Option(help="Decision mapping to categories.")] = "imagenet-16",
    images: Annotated[
        int | None, typer.Option(help="Images per participant [default: all but practice].")
    ] = None,
    practice: Annotated[int, typer.Option(help="Practice images per participant.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the participants' image orders.")] = 0,
    admin_token_file: Annotated[
        Path | None,
        typer.Option(help="File with the experimenter's token [default: from environment]."),
    ] = None,
    completion_code: Annotated[
        str | None, typer.Option(help="Study-wide completion code [default: one each].")
    ] = None,
    completion_url: Annotated[
        str | None, typer.Option(help="URL finished participants go to ({code} replaced).")
    ] = None,
    batch_ms: Annotated[float, typer.Option(help="Micro-batching window in ms.")] = 5.0,
    max_batch: Annotated[int, typer.Option(help="Most images per forward pass.")] = 32,
    rate: Annotated[float, typer.Option(help="Requests a second per participant.")] = 20.0,
    device: Annotated[str, typer.Option(help="Where the model runs.")] = "cpu",
    config: Annotated[
        Path | None,
        typer.Option(
            help="A lab's ClickMe settings file (as for 'psychoalign run clickme --config'): "
            "its bubble, click budget, time limit and grey [default: Linsley et al. 2019]."
        ),
    ] = None,
) -> None:
    """Serve the ClickMe game (consent, instructions, practice, images, completion code)."""
    with user_errors():
        _web_modules()
        from psychoalign.web.server import serve

        rules = None if config is None else _lab_rules(config)
        serve(
            stimuli,
            host=host,
            port=port,
            db_url=db,
            model=model,
            mapping=mapping,
            n_images=images,
            n_practice=practice,
            seed=seed,
            admin_token_file=admin_token_file,
            completion_code=completion_code,
            completion_url=completion_url,
            batch_window_ms=batch_ms,
            max_batch=max_batch,
            click_rate=rate,
            device=device,
            rules=rules,
        )


def _lab_rules(config: Path) -> ClickMeRules:
    """The rules a lab session with this settings file plays by, checked as the lab does."""
    from psychoalign.lab.clickme_rules import ClickMeRules as LabRules
    from psychoalign.lab.config import load_config

    return LabRules.from_config(load_config("clickme", config))


@web_app.command("export")
def web_export(
    db: Annotated[str, typer.Option(help="Database URL of the game.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write clickme/ into.")],
) -> None:
    """Write the game's data as ClickMe trial files (for 'psychoalign clickmaps build')."""
    with user_errors():
        _web_modules()
        from psychoalign.web.export import export_trials

        files = export_trials(db, out)
    typer.echo(f"{out / 'clickme'}: {len(files)} trial files")
