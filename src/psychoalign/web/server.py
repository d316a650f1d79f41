"""Serving the game: :func:`serve` runs the app under uvicorn; ``python -m psychoalign.web``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "serve"]


def serve(
    stimuli: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    **options: Any,
) -> None:
    """Serve the game at ``http://host:port`` until interrupted (uvicorn, one process).

    Parameters
    ----------
    stimuli
        The stimulus set (see :func:`psychoalign.web.create_app`).
    host, port
        Where to listen; the default listens on this machine only.
    log_level
        uvicorn's log level.
    **options
        The other options of :func:`psychoalign.web.create_app`.

    Notes
    -----
    One process: the micro-batcher and the per-participant click order live in it (run
    one server per database). The app is built before the port is opened, so a bad
    option fails before anything listens.
    """
    import uvicorn

    from psychoalign.web.app import create_app

    app = create_app(stimuli, **options)
    sys.stderr.write(f"psychoalign web: serving http://{host}:{port}\n")
    sys.stderr.flush()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m psychoalign.web", description="Serve the online ClickMe game."
    )
    parser.add_argument("--stimuli", required=True, help="Bundled set name or set folder.")
    parser.add_argument("--db", default=None, help="Database URL (default sqlite file).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--mapping", default="imagenet-16")
    parser.add_argument("--images", type=int, default=None, help="Images per participant.")
    parser.add_argument("--practice", type=int, default=2, help="Practice images.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--admin-token-file", default=None)
    parser.add_argument("--completion-code", default=None)
    parser.add_argument("--completion-url", default=None)
    parser.add_argument("--batch-ms", type=float, default=5.0)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--rate", type=float, default=20.0, help="Requests/s per participant.")
    parser.add_argument("--device", default="cpu")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m psychoalign.web``: serve the game (exit 2 with one line on bad input)."""
    from psychoalign.errors import PsychoalignError

    args = _parser().parse_args(argv)
    try:
        serve(
            args.stimuli,
            host=args.host,
            port=args.port,
            db_url=args.db,
            model=args.model,
            mapping=args.mapping,
            n_images=args.images,
            n_practice=args.practice,
            seed=args.seed,
            admin_token_file=args.admin_token_file,
            completion_code=args.completion_code,
            completion_url=args.completion_url,
            batch_window_ms=args.batch_ms,
            max_batch=args.max_batch,
            click_rate=args.rate,
            device=args.device,
        )
    except PsychoalignError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
