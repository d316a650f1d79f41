"""The game's database: participants, their trials and every click (SQLAlchemy 2 ORM).

SQLite by default (a file; write-ahead log, so readers never block the writer), or
PostgreSQL by URL (``postgresql+psycopg://user@host:port/db``, driver psycopg 3). All
state lives here: a restarted server continues every participant where they were.

Tables
------
``study``
    One row: the stimulus set (name, path, checksum), the rules and the model, so a
    database is never continued with another study's settings.
``participants``
    The hash of the session token (never the token), the label (``web0001``), the
    recruitment parameters (Prolific ``PROLIFIC_PID, STUDY_ID, SESSION_ID``; MTurk
    ``workerId, assignmentId, hitId``), consent and completion times, completion code.
``trials``
    The participant's plan (made at consent): index, stimulus, image, condition,
    category, practice flag; start and end times (server clock), response, recognised,
    points.
``clicks``
    Index within the trial, image pixel (row, col), the point clicked (x, y), seconds
    since the trial's start, the model's answer and its score for the category.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from psychoalign.web.errors import WebError

__all__ = [
    "RECRUITMENT_PARAMETERS",
    "Click",
    "Participant",
    "Study",
    "Trial",
    "open_database",
    "record_study",
]

#: URL parameters of Prolific and MTurk recorded with a participant -> their column.
RECRUITMENT_PARAMETERS = {
    "PROLIFIC_PID": "prolific_pid",
    "STUDY_ID": "study_id",
    "SESSION_ID": "session_id",
    "workerId": "worker_id",
    "assignmentId": "assignment_id",
    "hitId": "hit_id",
}


class _Base(DeclarativeBase):
    pass


class Study(_Base):
    """The one row naming the study a database holds."""

    __tablename__ = "study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stimulus_set: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(128))
    rules: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(200))
    created: Mapped[float] = mapped_column(Float)


class Participant(_Base):
    """A participant: token hash, recruitment parameters, consent, completion."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str | None] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created: Mapped[float] = mapped_column(Float)
    consent_time: Mapped[float] = mapped_column(Float)
    prolific_pid: Mapped[str | None] = mapped_column(String(200))
    study_id: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(200))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    assignment_id: Mapped[str | None] = mapped_column(String(200))
    hit_id: Mapped[str | None] = mapped_column(String(200))
    completion_code: Mapped[str | None] = mapped_column(String(64))
    completed: Mapped[float | None] = mapped_column(Float)
    trials: Mapped[list[Trial]] = relationship(back_populates="participant", order_by="Trial.index")


class Trial(_Base):
    """One image of a participant's plan, and how its game went."""

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("participant_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    practice: Mapped[bool] = mapped_column(Boolean)
    stimulus: Mapped[str] = mapped_column(Text)
    image: Mapped[str] = mapped_column(Text)
    condition: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(200))
    image_height: Mapped[int] = mapped_column(Integer)
    image_width: Mapped[int] = mapped_column(Integer)
    started: Mapped[float | None] = mapped_column(Float)
    ended: Mapped[float | None] = mapped_column(Float)
    response: Mapped[str | None] = mapped_column(String(200))
    recognised: Mapped[bool | None] = mapped_column(Boolean)
    points: Mapped[int | None] = mapped_column(Integer)
    participant: Mapped[Participant] = relationship(back_populates="trials")
    clicks: Mapped[list[Click]] = relationship(back_populates="trial", order_by="Click.index")


class Click(_Base):
    """One click on a trial's image, with the model's answer to it."""

    __tablename__ = "clicks"
    __table_args__ = (UniqueConstraint("trial_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    row: Mapped[int] = mapped_column(Integer)
    col: Mapped[int] = mapped_column(Integer)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    t: Mapped[float] = mapped_column(Float)
    model_response: Mapped[str] = mapped_column(String(200))
    model_score: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    trial: Mapped[Trial] = relationship(back_populates="clicks")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead log (readers do not block the writer), a wait instead of 'locked'."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_database(url: str) -> Engine:
    """An engine on ``url``, its tables created if missing.

    Parameters
    ----------
    url
        ``sqlite:///path/file.sqlite`` or ``postgresql+psycopg://user@host:port/db``.

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    WebError
        The URL is not a database URL, or the database cannot be reached or written.
    """
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as error:
        raise WebError(
            f"--db: '{url}' is not a database URL SQLAlchemy can open ({error})."
        ) from None
    try:
        _Base.metadata.create_all(engine)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise WebError(f"--db: cannot open database {engine.url!r} ({reason}).") from None
    return engine


def record_study(
    engine: Engine, identity: dict[str, str], rules: dict[str, Any], model: str
) -> Study:
    """Record the study in a new database; check that an existing one holds the same.

    Raises
    ------
    WebError
        The database holds another stimulus set (by checksum) or other rules.
    """
    import time

    text = json.dumps(rules, sort_keys=True)
    with Session(engine, expire_on_commit=False) as session:
        study = session.scalars(select(Study)).first()
        if study is None:
            study = Study(
                stimulus_set=identity["name"],
                path=identity["path"],
                checksum=identity["checksum"],
                rules=text,
                model=model,
                created=time.time(),
            )
            session.add(study)
            session.commit()
            return study
    if study.checksum != identity["checksum"]:
        raise WebError(
            f"--db: the database holds a study of stimulus set '{study.stimulus_set}' "
            f"(checksum {study.checksum[:12]}), not of '{identity['name']}'; use another --db."
        )
    if study.rules != text:
        raise WebError(
            f"--db: the database holds a study played by other rules ({study.rules}); "
            "use another --db."
        )
    return study
