"""The FastAPI app of the online ClickMe game: pages, the participants' API, the experimenter's.

:func:`create_app` wires the game (:class:`~psychoalign.web.game.Game`), the database, the
model behind its micro-batcher and the security checks into one ASGI application; the
routes are listed in the project's web API notes (and at ``/docs`` when served).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from psychoalign.rules import LINSLEY_2019, ClickMeRules
from psychoalign.stimuli import StimulusSet
from psychoalign.web.batching import ModelBatcher
from psychoalign.web.errors import WebError
from psychoalign.web.game import Game
from psychoalign.web.security import RateLimiter, admin_token, same_token
from psychoalign.web.storage import open_database, record_study

__all__ = ["WebState", "create_app", "default_db_url"]

_HERE = Path(__file__).parent
_PAGES = {"/": "consent.html", "/instructions": "instructions.html", "/play": "play.html",
          "/done": "done.html"}  # fmt: skip
_CONSENT = (
    "This study is about how people and computers recognise objects. You will see images "
    "and click on the parts that show the object best. It takes about 10 minutes; your "
    "clicks and the parameters of your recruitment link are recorded, nothing else. You "
    "may stop at any time."
)
_INSTRUCTIONS = (
    "Each image names an object. Click the parts of the object that matter most for "
    "recognising it: every click shows that part to a computer, which tries to recognise "
    "the object. You score when it does; the fewer clicks, the more points."
)


def default_db_url() -> str:
    """``sqlite:///clickme.sqlite`` in the working folder (the default ``--db``)."""
    return f"sqlite:///{Path('clickme.sqlite').resolve()}"


@dataclass
class WebState:
    """What the routes share (``app.state.web``)."""

    game: Game
    batcher: ModelBatcher
    admin_token: str | None
    limiter: RateLimiter
    join_limiter: RateLimiter
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine."""
        return self.game.engine

    @property
    def rules(self) -> ClickMeRules:
        """The game's rules."""
        return self.game.rules


class _Join(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: bool
    params: dict[str, Any] = Field(default_factory=dict, max_length=64)


class _Click(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)


def create_app(
    stimuli: StimulusSet | str | os.PathLike[str],
    *,
    db_url: str | None = None,
    model: Any = "efficientnet_lite0",
    mapping: str = "imagenet-16",
    rules: ClickMeRules | None = None,
    admin_token: str | None = None,
    admin_token_file: str | os.PathLike[str] | None = None,
    n_images: int | None = None,
    n_practice: int = 2,
    seed: int = 0,
    completion_code: str | None = None,
    completion_url: str | None = None,
    batch_window_ms: float = 5.0,
    max_batch: int = 32,
    click_rate: float = 20.0,
    device: str = "cpu",
) -> FastAPI:
    """The online ClickMe game as an ASGI application (serve it with uvicorn).

    Parameters
    ----------
    stimuli
        A stimulus set, a bundled set's name (``edge``, ``silhouette``, ...) or a folder.
    db_url
        SQLAlchemy URL of the database (default: :func:`default_db_url`); tables are
        created when missing; an existing database must hold the same study.
    model
        The model observer's model: a zoo name (default the bundled EfficientNet-Lite0)
        or a :class:`~psychoalign.models.ModelObserver` (its mapping is then used).
    mapping
        The decision mapping from the model's outputs to categories.
    rules
        The game's rules (default :data:`psychoalign.rules.LINSLEY_2019`, the lab's).
    admin_token, admin_token_file
        The experimenter's token, or a file holding it; default from the environment
        (see :func:`psychoalign.web.security.admin_token`); none: admin routes refuse.
    n_images, n_practice, seed, completion_code, completion_url
        See :class:`~psychoalign.web.game.Game`.
    batch_window_ms, max_batch
        Micro-batching of the model (see :class:`~psychoalign.web.batching.ModelBatcher`).
    click_rate
        Requests a second a participant may make (burst: the same number).
    device
        Where the model runs.

    Returns
    -------
    fastapi.FastAPI
        With ``app.state.web`` (:class:`WebState`).

    Raises
    ------
    psychoalign.errors.PsychoalignError
        A stimulus set, model, database or setting that cannot be used.
    """
    from psychoalign.models import ModelObserver
    from psychoalign.workflows.sweep_plan import open_stimuli

    stimulus_set = stimuli if isinstance(stimuli, StimulusSet) else open_stimuli(stimuli)
    rules = LINSLEY_2019 if rules is None else rules
    observer = model if isinstance(model, ModelObserver) else ModelObserver(
        model, mapping, device=device, batch_size=max_batch
    )  # fmt: skip
    missing = sorted(set(stimulus_set.categories) - set(observer.mapping.categories))
    if missing:
        raise WebError(
            f"mapping: '{observer.mapping.name}' has no category {', '.join(missing)} of "
            f"stimulus set '{stimulus_set.name}'; the model could never recognise them."
        )
    engine = open_database(db_url or default_db_url())
    record_study(engine, stimulus_set.identity(), rules.as_dict(), observer.name)
    game = Game(
        engine, stimulus_set, rules, n_images=n_images, n_practice=n_practice, seed=seed,
        completion_code=completion_code, completion_url=completion_url,
    )  # fmt: skip
    state = WebState(
        game=game,
        batcher=ModelBatcher(observer, window_s=batch_window_ms / 1000, max_batch=max_batch),
        admin_token=_admin(admin_token, admin_token_file),
        limiter=RateLimiter(rate=click_rate, burst=max(1, int(click_rate))),
        join_limiter=RateLimiter(rate=10.0, burst=200),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.batcher.close()
        engine.dispose()

    app = FastAPI(title=f"ClickMe: {stimulus_set.name}", lifespan=lifespan)
    app.state.web = state
    app.add_exception_handler(WebError, _web_error)
    _page_routes(app, state)
    _participant_routes(app)
    _admin_routes(app)
    static = _HERE / "static"
    if static.is_dir():
        from fastapi.staticfiles import StaticFiles

        app.mount("/static", StaticFiles(directory=static), name="static")
    return app


def _admin(token: str | None, token_file: str | os.PathLike[str] | None) -> str | None:
    return admin_token(token, token_file)


async def _web_error(_request: Request, error: Exception) -> JSONResponse:
    status = getattr(error, "status", 400)
    headers = getattr(error, "headers", None)
    return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def _state(request: Request) -> WebState:
    return request.app.state.web


def _participant(request: Request, authorization: str | None = Header(default=None)) -> int:
    """The authenticated participant's id, within their rate limit."""
    state = _state(request)
    token = _bearer(authorization)
    participant_id = state.game.authenticate(token)
    key = f"p{participant_id}"
    if not state.limiter.allow(key):
        error = WebError("too many requests; slow down.", status=429)
        error.headers = {"Retry-After": str(max(1, round(state.limiter.retry_after(key))))}
        raise error
    return participant_id


def _page_routes(app: FastAPI, state: WebState) -> None:
    """The four pages, rendered from the templates (a plain page when one is missing)."""
    from fastapi.templating import Jinja2Templates

    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    context = {
        "title": f"ClickMe: {state.game.stimuli.name}",
        "study": state.game.stimuli.name,
        "rules": state.rules.as_dict(),
        "n_practice": state.game.n_practice,
        "n_trials": state.game.n_images,
        "consent": _CONSENT,
        "instructions": _INSTRUCTIONS,
    }

    def page(template: str) -> Any:
        def render(request: Request) -> Response:
            if (_HERE / "templates" / template).is_file():
                return templates.TemplateResponse(request, template, context)
            return HTMLResponse(
                f"<!doctype html><title>{context['title']}</title>"
                f"<h1>{context['title']}</h1><p>{template}</p>"
            )

        return render

    for path, template in _PAGES.items():
        app.get(path, response_class=HTMLResponse, include_in_schema=False)(page(template))


def _participant_routes(app: FastAPI) -> None:
    """The participants' JSON API under /api (see the module description)."""

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/participants", status_code=201)
    def join(body: _Join, request: Request) -> dict[str, Any]:
        state = _state(request)
        client = request.client.host if request.client else "unknown"
        if not state.join_limiter.allow(client):
            raise WebError("too many new sessions from this address; try later.", status=429)
        if not body.consent:
            raise WebError("consent: the study needs your consent to start.", status=422)
        return state.game.join(body.params)

    @app.get("/api/state")
    def participant_state(request: Request, who: int = Depends(_participant)) -> dict[str, Any]:
        return _state(request).game.state(who)

    @app.post("/api/trials/next")
    def next_trial(request: Request, who: int = Depends(_participant)) -> dict[str, Any]:
        return _state(request).game.next_trial(who)

    @app.get("/api/trials/{index}")
    def trial(index: int, request: Request, who: int = Depends(_participant)) -> dict[str, Any]:
        return _state(request).game.trial(who, index)

    @app.get("/api/trials/{index}/image")
    def image(index: int, request: Request, who: int = Depends(_participant)) -> Response:
        png = _state(request).game.image_png(who, index)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private"})

    @app.post("/api/trials/{index}/end")
    def end(index: int, request: Request, who: int = Depends(_participant)) -> dict[str, Any]:
        return _state(request).game.end_trial(who, index)

    @app.post("/api/trials/{index}/clicks")
    async def click(
        index: int, body: _Click, request: Request, who: int = Depends(_participant)
    ) -> dict[str, Any]:
        state = _state(request)
        lock = state.locks.setdefault(who, asyncio.Lock())
        async with lock:  # one click of a participant at a time: the budget holds
            pending = await run_in_threadpool(state.game.prepare_click, who, index, body.x, body.y)
            answer, scores = await state.batcher.classify(pending.revealed)
            score = float(scores[state.batcher.categories.index(pending.category)])
            return await run_in_threadpool(state.game.commit_click, pending, answer, score)


def _admin_routes(app: FastAPI) -> None:
    """The experimenter's routes: progress and export, behind the admin token."""

    def experimenter(request: Request, authorization: str | None = Header(default=None)) -> None:
        expected = _state(request).admin_token
        if expected is None:
            raise WebError(
                "the experimenter's routes are closed: no admin token is configured.",
                status=403,
            )
        if not same_token(_bearer(authorization), expected):
            raise WebError("Authorization: not the experimenter's token.", status=403)

    @app.get("/api/admin/progress", dependencies=[Depends(experimenter)])
    def progress(request: Request) -> dict[str, Any]:
        return _state(request).game.progress()

    @app.get("/api/admin/export", dependencies=[Depends(experimenter)])
    def export(request: Request) -> Response:
        from psychoalign.web.export import export_zip

        data = export_zip(_state(request).engine)
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="clickme-export.zip"'},
        )
