"""The game on the server: plans, trials, clicks, points, all enforced here and stored.

The client shows what the server says; it cannot forge anything that counts. The server
keeps the clock (a trial's time runs from its start, on the server), counts the clicks
against the budget, validates every click's position against the image, asks the model,
and scores by :class:`psychoalign.rules.ClickMeRules`. Every call reads and writes the
database (:mod:`psychoalign.web.storage`) in one transaction, so a restarted server
continues every participant where they were.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from psychoalign.rules import ClickMeRules, click_pixel, reveal
from psychoalign.web.errors import WebError
from psychoalign.web.security import hash_token, new_token
from psychoalign.web.storage import RECRUITMENT_PARAMETERS, Click, Participant, Trial

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from psychoalign.stimuli import StimulusSet

__all__ = ["Game", "PendingClick"]

#: Longest recruitment parameter value kept (characters).
_MAX_PARAMETER = 200


@dataclass(frozen=True)
class PendingClick:
    """A validated click waiting for the model's answer (see :meth:`Game.prepare_click`)."""

    participant_id: int
    trial_id: int
    index: int
    row: int
    col: int
    x: float
    y: float
    t: float
    category: str
    revealed: np.ndarray


class Game:
    """The study on the server: its stimuli, rules and database.

    Parameters
    ----------
    engine
        The database (:func:`psychoalign.web.storage.open_database`).
    stimuli
        The stimulus set played.
    rules
        The game's rules.
    n_images, n_practice
        Images per participant (default: every image of the set not used for practice)
        and practice images before them (distinct from the participant's images).
    seed
        Seed of the plans: participant ``k`` gets permutation ``default_rng([seed, k])``.
    completion_code, completion_url
        A study-wide completion code (Prolific's), else one random code per participant;
        the URL to send a finished participant to (``{code}`` is replaced by the code).
    """

    def __init__(
        self,
        engine: Engine,
        stimuli: StimulusSet,
        rules: ClickMeRules,
        *,
        n_images: int | None = None,
        n_practice: int = 2,
        seed: int = 0,
        completion_code: str | None = None,
        completion_url: str | None = None,
    ):
        self.engine = engine
        self.stimuli = stimuli
        self.rules = rules
        self.seed = seed
        self.completion_code = completion_code
        self.completion_url = completion_url
        self.n_practice = n_practice
        self.n_images = len(stimuli) - n_practice if n_images is None else n_images
        if self.n_images < 1 or n_practice < 0 or self.n_images + n_practice > len(stimuli):
            raise WebError(
                f"--images/--practice: {self.n_images} images and {n_practice} practice "
                f"images do not fit the {len(stimuli)} stimuli of '{stimuli.name}'."
            )
        self._manifest = stimuli.manifest.reset_index(drop=True)
        self._pixels: dict[str, np.ndarray] = {}
        self._pixels_lock = threading.Lock()

    # --- stimuli -----------------------------------------------------------------------

    def pixels(self, stimulus: str) -> np.ndarray:
        """A stimulus's pixels (height, width, 3) uint8, read once."""
        with self._pixels_lock:
            if stimulus not in self._pixels:
                from psychoalign.stimuli import read_pixels

                self._pixels[stimulus] = read_pixels(self.stimuli.file(stimulus))
            return self._pixels[stimulus]

    def image_png(self, participant_id: int, index: int) -> bytes:
        """The PNG of a participant's trial image (its original pixels)."""
        from psychoalign.stimuli import encode_png

        with Session(self.engine) as session:
            trial = self._trial(session, participant_id, index)
            return encode_png(self.pixels(trial.stimulus))

    # --- participants ------------------------------------------------------------------

    def join(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A new participant (after consent): token, label and plan, committed.

        ``params`` are the URL parameters the participant arrived with; the recruitment
        ones (:data:`~psychoalign.web.storage.RECRUITMENT_PARAMETERS`) are recorded.
        """
        recorded = {}
        for key, column in RECRUITMENT_PARAMETERS.items():
            value = params.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > _MAX_PARAMETER:
                raise WebError(
                    f"params: '{key}' must be a text of at most {_MAX_PARAMETER} characters.",
                    status=422,
                )
            recorded[column] = value
        token, now = new_token(), time.time()
        with Session(self.engine) as session:
            participant = Participant(
                token_hash=hash_token(token), created=now, consent_time=now, **recorded
            )
            session.add(participant)
            session.flush()
            participant.label = f"web{participant.id:04d}"
            for trial in self._plan(participant.id):
                session.add(trial)
            session.commit()
            label = participant.label
        return {
            "token": token,
            "participant": label,
            "n_practice": self.n_practice,
            "n_trials": self.n_images,
            "rules": self.rules.as_dict(),
        }

    def _plan(self, participant_id: int) -> list[Trial]:
        """The participant's trials: practice images, then their images, all distinct."""
        order = np.random.default_rng([self.seed, participant_id]).permutation(len(self._manifest))
        chosen = order[: self.n_practice + self.n_images]
        trials = []
        for index, position in enumerate(chosen, start=1):
            row = self._manifest.iloc[int(position)]
            height, width = self.pixels(row["stimulus"]).shape[:2]
            trials.append(
                Trial(
                    participant_id=participant_id,
                    index=index,
                    practice=index <= self.n_practice,
                    stimulus=str(row["stimulus"]),
                    image=str(row["image"]),
                    condition=str(row["condition"]),
                    category=str(row["category"]),
                    image_height=int(height),
                    image_width=int(width),
                )
            )
        return trials

    def authenticate(self, token: str | None) -> int:
        """The participant id of a session token.

        Raises
        ------
        WebError
            (401) no token, or one the server did not issue.
        """
        if not token:
            raise WebError(
                "Authorization: no session token; start at the consent page.", status=401
            )
        with Session(self.engine) as session:
            found = session.scalar(
                select(Participant.id).where(Participant.token_hash == hash_token(token))
            )
        if found is None:
            raise WebError(
                "Authorization: this session token is not one of this study's.", status=401
            )
        return found

    # --- trials ------------------------------------------------------------------------

    def _trial(self, session: Session, participant_id: int, index: int) -> Trial:
        trial = session.scalar(
            select(Trial).where(Trial.participant_id == participant_id, Trial.index == index)
        )
        if trial is None:
            raise WebError(f"trial {index}: there is no such trial of yours.", status=404)
        return trial

    def _started_trial(
        self, session: Session, participant_id: int, index: int, now: float
    ) -> Trial:
        """The participant's trial, ended first if its time is up; 409 if never started."""
        trial = self._trial(session, participant_id, index)
        if trial.started is None:
            raise WebError(f"trial {index}: has not started.", status=409)
        self._expire(trial, now)
        return trial

    def _expire(self, trial: Trial, now: float) -> None:
        """End an open trial whose time is up (not recognised: 0 points)."""
        if (
            trial.started is not None
            and trial.ended is None
            and now - trial.started >= self.rules.time_limit_s
        ):
            trial.ended = trial.started + self.rules.time_limit_s
            trial.recognised = False
            trial.points = 0
            trial.response = trial.clicks[-1].model_response if trial.clicks else "na"

    def _score(self, session: Session, trial: Trial) -> int:
        """The running score of the trial's block (practice or main) up to the trial."""
        return int(
            session.scalar(
                select(func.coalesce(func.sum(Trial.points), 0)).where(
                    Trial.participant_id == trial.participant_id,
                    Trial.practice == trial.practice,
                    Trial.index <= trial.index,
                )
            )
        )

    def _view(self, session: Session, trial: Trial, now: float) -> dict[str, Any]:
        """A trial as the client sees it (docs/web-api.md, TRIAL)."""
        elapsed = 0.0 if trial.started is None else now - trial.started
        size = max(trial.image_height, trial.image_width)
        return {
            "index": trial.index,
            "practice": trial.practice,
            "number": trial.index if trial.practice else trial.index - self.n_practice,
            "of": self.n_practice if trial.practice else self.n_images,
            "category": trial.category,
            "image_url": f"/api/trials/{trial.index}/image",
            "image_width": trial.image_width,
            "image_height": trial.image_height,
            "bubble_diameter": round(self.rules.bubble_diameter(size), 3),
            "click_budget": self.rules.click_budget,
            "clicks_left": self.rules.clicks_left(len(trial.clicks)),
            "time_limit_s": self.rules.time_limit_s,
            "seconds_left": round(self.rules.seconds_left(elapsed), 3)
            if trial.ended is None
            else 0.0,
            "clicks": [_click_view(click) for click in trial.clicks],
            "started": trial.started is not None,
            "ended": trial.ended is not None,
            "recognised": trial.recognised,
            "points": trial.points,
            "score": self._score(session, trial),
        }

    def trial(self, participant_id: int, index: int) -> dict[str, Any]:
        """One of the participant's trials (time-up trials ended first)."""
        now = time.time()
        with Session(self.engine) as session:
            trial = self._trial(session, participant_id, index)
            self._expire(trial, now)
            session.commit()
            return self._view(session, trial, now)

    def next_trial(self, participant_id: int) -> dict[str, Any]:
        """The open trial, else the next one (started now), else the completion."""
        now = time.time()
        with Session(self.engine) as session:
            trials = session.scalars(
                select(Trial)
                .where(Trial.participant_id == participant_id, Trial.ended.is_(None))
                .order_by(Trial.index)
            ).all()
            for trial in trials:
                self._expire(trial, now)
                if trial.ended is None:
                    if trial.started is None:
                        trial.started = now
                    session.commit()
                    return {"trial": self._view(session, trial, now)}
            participant = session.get(Participant, participant_id)
            if participant.completed is None:
                participant.completed = now
                participant.completion_code = self.completion_code or secrets.token_hex(4).upper()
            session.commit()
            return {"trial": None, "completed": True, **self._completion(participant)}

    def _completion(self, participant: Participant) -> dict[str, Any]:
        code = participant.completion_code
        url = self.completion_url
        if url and code:
            url = url.replace("{code}", code)
        return {"completion_code": code, "redirect_url": url if code else None}

    def end_trial(self, participant_id: int, index: int) -> dict[str, Any]:
        """End a started trial now (time up on the client, or given up): 0 points.

        Raises
        ------
        WebError
            (409) the trial has not started.
        """
        now = time.time()
        with Session(self.engine) as session:
            trial = self._started_trial(session, participant_id, index, now)
            if trial.ended is None:
                trial.ended = now
                trial.recognised = False
                trial.points = 0
                trial.response = trial.clicks[-1].model_response if trial.clicks else "na"
            session.commit()
            return self._view(session, trial, now)

    def state(self, participant_id: int) -> dict[str, Any]:
        """Where the participant stands (docs/web-api.md, /api/state)."""
        now = time.time()
        with Session(self.engine) as session:
            participant = session.get(Participant, participant_id)
            current = next(
                (t for t in participant.trials if t.started is not None and t.ended is None),
                None,
            )
            if current is not None:
                self._expire(current, now)
                session.commit()
                current = None if current.ended is not None else current
            return {
                "participant": participant.label,
                "n_practice": self.n_practice,
                "n_trials": self.n_images,
                "trials_done": sum(t.ended is not None for t in participant.trials),
                "score": sum(t.points or 0 for t in participant.trials if not t.practice),
                "completed": participant.completed is not None,
                **self._completion(participant),
                "current": None if current is None else self._view(session, current, now),
                "rules": self.rules.as_dict(),
            }

    # --- clicks ------------------------------------------------------------------------

    def prepare_click(self, participant_id: int, index: int, x: Any, y: Any) -> PendingClick:
        """Validate a click (trial open, budget and time left, inside the image).

        Returns the click and the image as revealed with it, for the model.

        Raises
        ------
        WebError
            (404) not the participant's trial; (409) not started or ended (time up,
            budget spent, recognised); (422) outside the image.
        """
        now = time.time()
        with Session(self.engine) as session:
            trial = self._started_trial(session, participant_id, index, now)
            session.commit()
            if trial.ended is not None:
                raise WebError(f"trial {index}: has ended; no more clicks count.", status=409)
            if len(trial.clicks) >= self.rules.click_budget:  # never stays open, but refuse
                raise WebError(f"trial {index}: the click budget is spent.", status=409)
            pixel = click_pixel(x, y, trial.image_height, trial.image_width)
            if pixel is None:
                raise WebError(
                    f"click: ({x}, {y}) is outside the {trial.image_width} x "
                    f"{trial.image_height} image.",
                    status=422,
                )
            shown = [(c.row, c.col) for c in trial.clicks] + [pixel]
            size = max(trial.image_height, trial.image_width)
            revealed = reveal(
                self.pixels(trial.stimulus),
                shown,
                self.rules.bubble_diameter(size),
                self.rules.hidden_grey,
            )
            return PendingClick(
                participant_id, trial.id, len(trial.clicks) + 1, pixel[0], pixel[1],
                float(x), float(y), round(now - trial.started, 4), trial.category, revealed,
            )  # fmt: skip

    def commit_click(self, pending: PendingClick, answer: str, score: float) -> dict[str, Any]:
        """Store a click with the model's answer, end the trial if the game is over."""
        now = time.time()
        with Session(self.engine) as session:
            trial = session.get(Trial, pending.trial_id)
            if trial.ended is not None or len(trial.clicks) + 1 != pending.index:
                raise WebError(f"trial {trial.index}: has ended; no more clicks count.", status=409)
            click = Click(
                trial_id=trial.id, index=pending.index, row=pending.row, col=pending.col,
                x=pending.x, y=pending.y, t=pending.t, model_response=answer,
                model_score=round(float(score), 6), correct=answer == pending.category,
            )  # fmt: skip
            session.add(click)
            trial.clicks.append(click)
            recognised = answer == trial.category
            n_clicks = len(trial.clicks)
            if self.rules.ended(recognised=recognised, n_clicks=n_clicks, elapsed_s=pending.t):
                trial.ended = now
                trial.recognised = recognised
                trial.points = self.rules.points(recognised=recognised, n_clicks=n_clicks)
                trial.response = answer
            session.commit()
            return {
                "click": _click_view(click),
                "clicks_left": self.rules.clicks_left(n_clicks),
                "seconds_left": 0.0
                if trial.ended is not None
                else round(self.rules.seconds_left(now - trial.started), 3),
                "ended": trial.ended is not None,
                "recognised": recognised,
                "points": trial.points,
                "score": self._score(session, trial),
            }

    # --- the experimenter --------------------------------------------------------------

    def progress(self) -> dict[str, Any]:
        """Every participant's progress (for the experimenter)."""
        with Session(self.engine) as session:
            rows = []
            for participant in session.scalars(select(Participant).order_by(Participant.id)):
                rows.append(
                    {
                        "participant": participant.label,
                        "created": participant.created,
                        "trials_done": sum(t.ended is not None for t in participant.trials),
                        "score": sum(t.points or 0 for t in participant.trials if not t.practice),
                        "completed": participant.completed is not None,
                        **{
                            key: getattr(participant, column)
                            for key, column in RECRUITMENT_PARAMETERS.items()
                        },
                    }
                )
            n_clicks = session.scalar(select(func.count(Click.id)))
        return {
            "participants": len(rows),
            "completed": sum(row["completed"] for row in rows),
            "trials_ended": sum(row["trials_done"] for row in rows),
            "clicks": int(n_clicks or 0),
            "per_participant": rows,
        }


def _click_view(click: Click) -> dict[str, Any]:
    return {
        "index": click.index,
        "row": click.row,
        "col": click.col,
        "t": click.t,
        "model_response": click.model_response,
        "model_score": click.model_score,
        "correct": click.correct,
    }
