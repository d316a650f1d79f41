"""Serving the game: :func:`serve` runs the app under uvicorn (``psychoalign web serve``)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["serve"]


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
