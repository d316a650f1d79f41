"""Session files: the trial file written trial by trial, its JSON sidecar, resume and refusal.

``<data>/<paradigm>/sub-<id>_ses-<n>_<date>.csv`` holds one row per completed trial in the
trial-table schema plus the presentation record; every row is appended, flushed and
fsynced before the next trial starts, so Esc, an exception or a killed process loses at
most the trial in progress. The sidecar ``.json`` holds the configuration, the full trial
plan (so ``--resume`` continues in the same order), versions, refresh rate, stimulus-set
checksum, seed and screen, and is replaced atomically whenever it changes (rewritten in
place when its folder can no longer be written).

A session exists as soon as any of its files does (the sidecar is written before the
first page): it is then refused without ``--resume``. While it runs, its process holds
an exclusive lock (:class:`~psychoalign.lab.storage.SessionLock`), so a second process
starting the same participant and session is refused; the lock is taken before the
files are looked for. Before every trial :meth:`Session.ready` makes sure its row can be
saved (the trial file is still the one written, the folder can be written, there is
room); a trial that could not be saved is never presented.
"""

from __future__ import annotations

import csv
import datetime as _datetime
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from psychoalign._io import atomic_file
from psychoalign.errors import OutputError, PsychoalignError
from psychoalign.lab.errors import LabError
from psychoalign.lab.storage import (
    ROW_ROOM,
    SIDECAR_ROOM,
    SessionLock,
    folder_problem,
    rewrite_in_place,
    room_problem,
)

__all__ = ["Session", "session_stem", "session_summary"]


def session_stem(participant: str, session: int) -> str:
    """``sub-<participant>_ses-<session>``: the part of the file name that identifies a session."""
    return f"sub-{participant}_ses-{session}"


def session_summary(trial_file: str | os.PathLike[str]) -> str:
    """One sentence for the end of a session: trials saved, and trials whose timing was off.

    Read from the sidecar beside ``trial_file`` (``n_trials``, ``n_timing_flagged``).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.json").write_text(json.dumps({"n_trials": 12, "n_timing_flagged": 1}))
    >>> session_summary(folder / "s.csv").split(" to ")[0]
    '12 trials saved'
    >>> session_summary(folder / "s.csv").split("; ")[1]
    "1 trial's stimulus duration was off by more than one frame (column timing_flag)."
    """
    trial_file = Path(trial_file)
    record = json.loads(trial_file.with_suffix(".json").read_text())
    saved = int(record.get("n_trials", 0))
    text = f"{saved} trial{'' if saved == 1 else 's'} saved to {trial_file}"
    flagged = record.get("n_timing_flagged")
    if flagged:
        text += (
            "; 1 trial's stimulus duration was"
            if flagged == 1
            else f"; {flagged} trials' stimulus durations were"
        ) + " off by more than one frame (column timing_flag)"
    return text + "."


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar of a session being resumed, or a LabError naming the line that is damaged."""
    if not path.is_file():
        raise LabError(
            f"{path}: is missing, so the trial plan is unknown; this session cannot be resumed."
        )
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise LabError(
            f"{path}: is not valid JSON (line {error.lineno}); this session cannot be resumed."
        ) from None
    except OSError as error:
        raise LabError(
            f"{path}: cannot be read ({_reason(error)}); this session cannot be resumed."
        ) from None


def _existing(folder: Path, stem: str) -> list[str]:
    """The sessions of ``stem`` in ``folder`` (names without suffix): any sidecar or trial file."""
    names = set()
    for path in folder.glob(f"{stem}_*"):
        if path.suffix in (".csv", ".json"):
            names.add(path.stem.removesuffix("_practice"))
    return sorted(names)


@dataclass(frozen=True)
class _Written:
    """What this process last wrote to a file: the file (device, inode) and its size."""

    device: int
    inode: int
    size: int

    @classmethod
    def of(cls, status: os.stat_result) -> _Written:
        return cls(status.st_dev, status.st_ino, status.st_size)


class Session:
    """The files of one participant's session, and the lock that makes it this process's.

    Parameters
    ----------
    data_dir
        The data folder; files go to ``data_dir/<paradigm>/``.
    paradigm
        The paradigm's name.
    participant, session
        Participant id (letters, digits, ``-``) and session number (>= 1).
    resume
        Continue the existing session (refused when there is none, or it is complete);
        without it an existing session is refused, never overwritten.

    Raises
    ------
    LabError
        The session exists (without ``resume``), does not (with it), cannot be resumed,
        or another process is running it.
    OutputError
        The data folder cannot be made.

    Notes
    -----
    The lock is held until :meth:`close` (or the end of the process); use the session as
    a context manager.
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
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"{self.folder}: cannot be made ({_reason(error)}).") from None
        # Locked before looking: two processes starting at once cannot both find no session.
        self._lock = SessionLock(
            self.folder / f".{stem}.lock", f"session {session} of participant {participant}"
        )
        self._probe = self.folder / f".{stem}.probe"
        self._written: dict[Path, _Written] = {}
        self._headers: dict[Path, list[str]] = {}
        try:
            self._find(stem, resume)
        except BaseException:
            self.close()
            raise

    def _find(self, stem: str, resume: bool) -> None:
        """Name the files: the existing session's (``resume``) or a new one's; refuse otherwise."""
        existing = _existing(self.folder, stem)
        who = f"participant {self.participant} already has session {self.session}"
        if existing and not resume:
            found = self.folder / f"{existing[-1]}.json"
            found = found if found.is_file() else sorted(self.folder.glob(f"{existing[-1]}*"))[0]
            raise LabError(
                f"{found}: {who}, which is never overwritten; continue it with --resume or "
                "choose another --session."
            )
        if resume and not existing:
            raise LabError(
                f"--resume: there is no session {self.session} of participant "
                f"{self.participant} in {self.folder}."
            )
        if len(existing) > 1:
            raise LabError(
                f"{self.folder}: participant {self.participant} has {len(existing)} sessions "
                f"numbered {self.session} ({', '.join(existing)}); move all but one aside to "
                "resume it."
            )
        if resume:
            self.path = self.folder / f"{existing[0]}.csv"
        else:
            stamp = _datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self.path = self.folder / f"{stem}_{stamp}.csv"
        self.sidecar_path = self.path.with_suffix(".json")
        self.practice_path = self.path.with_name(f"{self.path.stem}_practice.csv")
        self.resumed = resume
        self.record: dict[str, Any] = _read_sidecar(self.sidecar_path) if resume else {}
        if resume and "plan" not in self.record:
            raise LabError(
                f"{self.sidecar_path}: has no trial plan; this session cannot be resumed."
            )
        if resume and self.record.get("status") == "completed":
            raise LabError(
                f"{self.sidecar_path}: session {self.session} of participant "
                f"{self.participant} is complete; there is nothing to resume."
            )

    def close(self) -> None:
        """Release the session's lock (the files stay)."""
        self._lock.release()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the sidecar -----------------------------------------------------------------

    def save_record(self, **updates: Any) -> None:
        """Update the sidecar and replace it atomically (in place if its folder is read-only).

        Raises
        ------
        OutputError
            The sidecar can be neither replaced nor rewritten.
        """
        self.record.update(updates)
        text = json.dumps(self.record, indent=2, default=str) + "\n"
        try:
            with atomic_file(self.sidecar_path, "w", fsync=True, encoding="utf-8") as handle:
                handle.write(text)
            return
        except OSError as error:
            failed = _reason(error)
        if not self.sidecar_path.is_file():
            raise OutputError(f"{self.sidecar_path}: cannot be written ({failed}).")
        try:
            rewrite_in_place(self.sidecar_path, text.encode())
        except OSError as error:
            raise OutputError(
                f"{self.sidecar_path}: cannot be written ({failed}), nor rewritten in place "
                f"({_reason(error)})."
            ) from None

    def finish(self, status: str) -> str | None:
        """Write ``status`` and the trial counts to the sidecar; what stopped it, or None."""
        try:
            counts = self.tally()
        except (PsychoalignError, OSError):  # the trial file itself is what failed
            counts = {}
        try:
            self.save_record(status=status, **counts)
        except OutputError as error:
            return str(error).rstrip(".")
        return None

    # --- trial rows --------------------------------------------------------------------

    def completed(self, path: Path | None = None) -> pd.DataFrame:
        """Rows already on disk; a last line cut short by a killed process is removed first."""
        path = path or self.path
        if not path.is_file():
            return pd.DataFrame()
        try:
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(path, "r+b") as handle:
                    handle.truncate(data.rfind(b"\n") + 1)
                self.record.setdefault("repairs", []).append(
                    f"removed an unfinished last line of {path.name}"
                )
            self._written[path] = _Written.of(path.stat())
        except OSError as error:
            raise OutputError(f"{path}: cannot be read or repaired ({_reason(error)}).") from None
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:  # killed while writing the header: no trial yet
            return pd.DataFrame()
        except pd.errors.ParserError as error:
            raise LabError(
                f"{path}: is not a readable trial file ({str(error).strip()})."
            ) from None

    def tally(self) -> dict[str, int | None]:
        """``n_trials`` on disk and ``n_timing_flagged`` (None without a ``timing_flag`` column)."""
        rows = self.completed()
        flagged = None
        if "timing_flag" in rows.columns:
            flagged = int(rows["timing_flag"].str.lower().isin(["true", "1"]).sum())
        return {"n_trials": len(rows), "n_timing_flagged": flagged}

    def ready(self, label: str, *, practice: bool = False) -> None:
        """Make sure the row of the next trial (``label``, e.g. ``trial 5``) can be saved.

        Asked before the trial is presented: its file is still the one this process
        wrote (not deleted, replaced or changed), the folder can be written, and the
        free space and the file-size limit leave room for its row and the sidecar.

        Raises
        ------
        OutputError
            One sentence: what is wrong, and that the session stopped before ``label``.
        """
        path = self.practice_path if practice else self.path
        written = self._written.get(path)
        sidecar = self.sidecar_path.stat().st_size if self.sidecar_path.is_file() else 0
        problem = (
            self._changed(path)
            or folder_problem(self.folder, self._probe)
            or room_problem(path, written.size if written else 0, ROW_ROOM)
            or room_problem(self.sidecar_path, 0, sidecar + SIDECAR_ROOM)
        )
        if problem:
            raise OutputError(f"{problem}; the session stopped before {label}.")

    def _changed(self, path: Path) -> str | None:
        """How ``path`` is no longer what this process last wrote to it, or None."""
        written = self._written.get(path)
        if written is None:
            return None
        try:
            now = _Written.of(path.stat())
        except FileNotFoundError:
            return f"{path}: the trial file was deleted during the session"
        except OSError as error:
            return f"{path}: the trial file cannot be read ({_reason(error)})"
        if (now.device, now.inode) != (written.device, written.inode):
            return f"{path}: the trial file was replaced during the session"
        if now.size != written.size:
            return (
                f"{path}: the trial file was changed by another program during the session "
                f"({written.size} bytes written, {now.size} found)"
            )
        return None

    def append(
        self, row: Mapping[str, Any], columns: Sequence[str], *, practice: bool = False
    ) -> None:
        """Append one trial row (header first if the file is new), then flush, fsync and check.

        An existing file keeps its own header: the row is written in its columns. The
        file is never created again once written (a deleted trial file is not replaced
        by one without the trials before).

        Raises
        ------
        OutputError
            The row could not be saved (the file is left as it was before it).
        """
        path = self.practice_path if practice else self.path
        if path not in self._written and path.is_file() and path.stat().st_size:
            self._written[path] = _Written.of(path.stat())  # written by an earlier run
        written = self._written.get(path)
        if written is not None and path not in self._headers:
            self._headers[path] = self._header(path)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if written is None or written.size == 0:
            self._headers[path] = list(columns)
            writer.writerow(columns)
        writer.writerow([_cell(row.get(column)) for column in self._headers[path]])
        trial = f"{'practice trial' if practice else 'trial'} {row.get('trial')}"
        self._write(path, buffer.getvalue().encode(), written, trial)

    def _header(self, path: Path) -> list[str]:
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                return next(csv.reader(handle), [])
        except OSError as error:
            raise OutputError(f"{path}: cannot be read ({_reason(error)}).") from None

    def _write(self, path: Path, data: bytes, written: _Written | None, trial: str) -> None:
        """Append ``data`` to ``path`` (created only if this process never wrote it) and check."""
        what = f"{path}: {trial} could not be saved"
        flags = os.O_WRONLY | os.O_APPEND
        if written is None and not path.exists():
            flags |= os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(path, flags, 0o666)
        except FileNotFoundError:
            raise OutputError(f"{what}: the trial file was deleted during the session.") from None
        except OSError as error:
            raise OutputError(f"{what} ({_reason(error)}).") from None
        try:
            before = _Written.of(os.fstat(fd))
            if written is not None and (before.device, before.inode) != (
                written.device,
                written.inode,
            ):
                raise OutputError(f"{what}: the trial file was replaced during the session.")
            try:
                _write_all(fd, data)
                os.fsync(fd)
            except OSError as error:
                os.ftruncate(fd, before.size)  # no half row is left behind
                raise OutputError(f"{what} ({_reason(error)}).") from None
            after = _Written.of(os.fstat(fd))
            if after.size != before.size + len(data):
                raise OutputError(
                    f"{what}: {after.size - before.size} of its {len(data)} bytes reached the file."
                )
            self._written[path] = after
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
