"""Session files: the trial file written trial by trial, its JSON sidecar, resume and refusal.

``<data>/<paradigm>/sub-<id>_ses-<n>_<date>.csv`` holds one row per completed trial in the
trial-table schema plus the presentation record; every row is appended, flushed and
fsynced before the next trial starts, so Esc, an exception or a killed process loses at
most the trial in progress. The sidecar ``.json`` holds the configuration, the full trial
plan (so ``--resume`` continues in the same order), versions, refresh rate, stimulus-set
checksum, seed and screen, and is replaced atomically whenever it changes.
"""

from __future__ import annotations

import csv
import datetime as _datetime
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from psychoalign._io import atomic_file
from psychoalign.lab.errors import LabError

__all__ = ["Session", "session_stem"]


def session_stem(participant: str, session: int) -> str:
    """``sub-<participant>_ses-<session>``: the part of the file name that identifies a session."""
    return f"sub-{participant}_ses-{session}"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar of a session being resumed, or a LabError naming the line that is damaged."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise LabError(
            f"{path}: is not valid JSON (line {error.lineno}); this session cannot be resumed."
        ) from None


class Session:
    """The files of one participant's session.

    Parameters
    ----------
    data_dir
        The data folder; files go to ``data_dir/<paradigm>/``.
    paradigm
        The paradigm's name.
    participant, session
        Participant id (letters, digits, ``-``) and session number (>= 1).
    resume
        Continue the existing session (refused when there is none); without it an
        existing session is refused, never overwritten.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        paradigm: str,
        participant: str,
        session: int,
        *,
        resume: bool,
    ):
        if not participant or not all(c.isalnum() or c == "-" for c in participant):
            raise LabError(f"--participant: '{participant}' must be letters, digits and '-' only.")
        if session < 1:
            raise LabError(f"--session: {session} must be 1 or more.")
        self.folder = Path(data_dir) / paradigm
        self.participant, self.session = participant, session
        stem = session_stem(participant, session)
        existing = (
            sorted(p for p in self.folder.glob(f"{stem}_*.csv") if not p.stem.endswith("_practice"))
            if self.folder.is_dir()
            else []
        )
        if existing and not resume:
            raise LabError(
                f"{existing[0]}: participant {participant} already has session {session}; it is "
                "never overwritten. Continue it with --resume or choose another --session."
            )
        if resume and not existing:
            raise LabError(
                f"--resume: there is no session {session} of participant {participant} in "
                f"{self.folder}."
            )
        if resume:
            self.path = existing[-1]
        else:
            stamp = _datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self.path = self.folder / f"{stem}_{stamp}.csv"
        self.sidecar_path = self.path.with_suffix(".json")
        self.practice_path = self.path.with_name(f"{self.path.stem}_practice.csv")
        self.resumed = resume
        self.record: dict[str, Any] = (
            _read_sidecar(self.sidecar_path) if resume and self.sidecar_path.is_file() else {}
        )
        if resume and "plan" not in self.record:
            raise LabError(
                f"{self.sidecar_path}: has no trial plan; this session cannot be resumed."
            )

    # --- the sidecar -----------------------------------------------------------------

    def save_record(self, **updates: Any) -> None:
        """Update the sidecar and replace it atomically."""
        self.record.update(updates)
        with atomic_file(self.sidecar_path, "w", fsync=True, encoding="utf-8") as handle:
            json.dump(self.record, handle, indent=2, default=str)
            handle.write("\n")

    # --- trial rows --------------------------------------------------------------------

    def completed(self, path: Path | None = None) -> pd.DataFrame:
        """Rows already on disk; a last line cut short by a killed process is removed first."""
        path = path or self.path
        if not path.is_file():
            return pd.DataFrame()
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(path, "r+b") as handle:
                handle.truncate(cut)
            self.record.setdefault("repairs", []).append(
                f"removed an unfinished last line of {path.name}"
            )
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:  # killed while writing the header: no trial yet
            return pd.DataFrame()
        except pd.errors.ParserError as error:
            raise LabError(
                f"{path}: is not a readable trial file ({str(error).strip()})."
            ) from None

    def append(
        self, row: Mapping[str, Any], columns: Sequence[str], *, practice: bool = False
    ) -> None:
        """Append one trial row (header first if the file is new), then flush and fsync."""
        path = self.practice_path if practice else self.path
        self.folder.mkdir(parents=True, exist_ok=True)
        new = not path.is_file() or path.stat().st_size == 0
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if new:
            writer.writerow(columns)
        writer.writerow([_cell(row.get(column)) for column in columns])
        with open(path, "a", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
