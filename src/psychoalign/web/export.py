"""The game's database as ordinary ClickMe trial files, for ``psychoalign clickmaps build``.

One file per participant, ``<out>/clickme/sub-<participant>_ses-1.csv`` (and
``..._practice.csv`` for the practice), with the columns the lab's ClickMe task writes
(``experiments/clickme.py``) and a ``.json`` sidecar naming the stimulus set (path and
checksum) and the rules. Only ended trials are written (as the lab writes only completed
ones); clicks are JSON in ``clicks``: image pixel ``row, col``, ``t`` (seconds since the
trial started, server clock), ``model_response`` and ``model_score``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from psychoalign.rules import ClickMeRules
from psychoalign.web.errors import WebError
from psychoalign.web.storage import RECRUITMENT_PARAMETERS, Participant, Study, Trial

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["export_trials", "export_zip"]


def export_trials(db: str | Engine, out: str | os.PathLike[str]) -> list[Path]:
    """Write every participant's ended trials as lab-style ClickMe trial files.

    Parameters
    ----------
    db
        The database URL (or an engine on it).
    out
        The folder to write ``clickme/`` into (created; existing files of the same
        participants are replaced, atomically each).

    Returns
    -------
    list of pathlib.Path
        The trial files written (practice files included), sorted.

    Raises
    ------
    WebError
        The database holds no study.

    Examples
    --------
    On the database of a study that has been played (``tests/web/test_export.py`` plays
    one), as ``psychoalign web export --db URL --out DIR`` does::

        export_trials("sqlite:///results/clickme.sqlite", "results/export")
        # [PosixPath('results/export/clickme/sub-web0001_ses-1.csv'), ...]
    """
    import pandas as pd

    from psychoalign.trials import write_trials
    from psychoalign.web.storage import open_database

    if isinstance(db, str) and db.startswith("sqlite:///"):
        from psychoalign.errors import MissingFileError

        file = Path(db.removeprefix("sqlite:///"))
        if not file.is_file():
            raise MissingFileError(f"--db: {file} does not exist.")
    engine = open_database(db) if isinstance(db, str) else db
    folder = Path(out) / "clickme"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with Session(engine) as session:
        study = session.scalars(select(Study)).first()
        if study is None:
            raise WebError(f"--db: {engine.url!r} holds no ClickMe study; nothing to export.")
        rules = ClickMeRules(**json.loads(study.rules))
        participants = session.scalars(
            select(Participant)
            .order_by(Participant.id)
            .options(selectinload(Participant.trials).selectinload(Trial.clicks))
        ).all()
        for participant in participants:
            for practice in (False, True):
                rows = _rows(study, rules, participant, practice)
                if not rows:
                    continue
                suffix = "_practice" if practice else ""
                path = folder / f"sub-{participant.label}_ses-1{suffix}.csv"
                written.append(write_trials(pd.DataFrame(rows), path))
                _sidecar(path, study, participant)
    if isinstance(db, str):
        engine.dispose()
    return sorted(written)


def _rows(
    study: Study, rules: ClickMeRules, participant: Participant, practice: bool
) -> list[dict[str, Any]]:
    """One row per ended trial of one block, numbered from 1, with the running score."""
    rows, score = [], 0
    trials = [t for t in participant.trials if t.practice == practice and t.ended is not None]
    for number, trial in enumerate(trials, start=1):
        clicks = [
            {
                "row": c.row,
                "col": c.col,
                "t": c.t,
                "model_response": c.model_response,
                "model_score": c.model_score,
            }
            for c in trial.clicks
        ]
        response = trial.response or "na"
        score += trial.points or 0
        rows.append(
            {
                "experiment": f"{study.stimulus_set}-practice" if practice else study.stimulus_set,
                "observer": f"sub-{participant.label}",
                "observer_kind": "human",
                "session": 1,
                "trial": number,
                "stimulus": trial.stimulus,
                "image": trial.image,
                "condition": trial.condition,
                "category": trial.category,
                "response": response,
                "correct": response == trial.category,
                "rt": clicks[-1]["t"] if clicks else float("nan"),
                "clicks": json.dumps(clicks),
                "n_clicks": len(clicks),
                "recognised": bool(trial.recognised),
                "points": int(trial.points or 0),
                "score": score,
                "image_height": trial.image_height,
                "image_width": trial.image_width,
                "bubble_px": round(
                    rules.bubble_diameter(max(trial.image_height, trial.image_width)), 3
                ),
                "click_budget": rules.click_budget,
                "paradigm": "clickme-web",
                "duration_s": round(trial.ended - trial.started, 4),
                **{
                    column: getattr(participant, column) or ""
                    for column in RECRUITMENT_PARAMETERS.values()
                },
            }
        )
    return rows


def _sidecar(path: Path, study: Study, participant: Participant) -> None:
    """The trial file's sidecar: stimulus set, rules, model, completion."""
    from psychoalign._io import write_text_atomic

    record = {
        "paradigm": "clickme-web",
        "participant": participant.label,
        "stimulus_set": {
            "name": study.stimulus_set,
            "path": study.path,
            "checksum": study.checksum,
        },
        "rules": json.loads(study.rules),
        "task_model": study.model,
        "consent_time": participant.consent_time,
        "completed": participant.completed,
        "completion_code": participant.completion_code,
    }
    write_text_atomic(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")


def export_zip(engine: Engine) -> bytes:
    """The files of :func:`export_trials` as one zip archive (paths below ``clickme/``)."""
    with tempfile.TemporaryDirectory(prefix="psychoalign-export-") as folder:
        files = export_trials(engine, folder)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                for item in (path, path.with_suffix(".json")):
                    archive.write(item, item.relative_to(folder).as_posix())
        return buffer.getvalue()
