"""The online ClickMe game: FastAPI app, SQLAlchemy storage, the model in the loop, export.

``psychoalign web serve --stimuli SET`` (or :func:`serve`) runs the game of Linsley et al.
(2019) for participants recruited online (Prolific, MTurk): consent, instructions,
practice, the images, a completion code. Every click is validated, stored and answered
by the model observer on the server (micro-batched across participants), by the rules
the lab task plays by (:mod:`psychoalign.rules`). ``psychoalign web export`` (or
:func:`export_trials`) writes ordinary ClickMe trial files for ``psychoalign clickmaps
build``. Needs ``pip install 'psychoalign[web]'`` (fastapi, uvicorn, sqlalchemy, psycopg).
"""

from psychoalign.web.app import WebState, create_app, default_db_url
from psychoalign.web.batching import ModelBatcher
from psychoalign.web.errors import WebError
from psychoalign.web.export import export_trials, export_zip
from psychoalign.web.game import Game, PendingClick
from psychoalign.web.security import (
    ADMIN_TOKEN_ENV,
    ADMIN_TOKEN_FILE_ENV,
    RateLimiter,
    admin_token,
    hash_token,
    new_token,
    same_token,
)
from psychoalign.web.server import serve
from psychoalign.web.storage import (
    RECRUITMENT_PARAMETERS,
    Click,
    Participant,
    Study,
    Trial,
    open_database,
    record_study,
)

__all__ = [
    "ADMIN_TOKEN_ENV",
    "ADMIN_TOKEN_FILE_ENV",
    "RECRUITMENT_PARAMETERS",
    "Click",
    "Game",
    "ModelBatcher",
    "Participant",
    "PendingClick",
    "RateLimiter",
    "Study",
    "Trial",
    "WebError",
    "WebState",
    "admin_token",
    "create_app",
    "default_db_url",
    "export_trials",
    "export_zip",
    "hash_token",
    "new_token",
    "open_database",
    "record_study",
    "same_token",
    "serve",
]
