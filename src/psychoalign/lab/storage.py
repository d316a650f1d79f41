"""Where a session's files live: the session lock, and whether another trial can be saved.

:class:`SessionLock` is an exclusive lock on ``.<stem>.lock`` in the paradigm's data
folder, held for the whole session, so that two processes never run the same participant
and session. :func:`folder_problem` and :func:`room_problem` are asked before every
trial: a trial is presented only when its row can be saved (the folder can be written,
there is free space, and the file-size limit of ``ulimit -f`` leaves room).
:func:`rewrite_in_place` updates a file whose folder can no longer be written. Every
``OSError`` they meet becomes words naming the path.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from psychoalign.errors import LabError, OutputError

__all__ = [
    "ROW_ROOM",
    "SIDECAR_ROOM",
    "SessionLock",
    "folder_problem",
    "rewrite_in_place",
    "room_problem",
]

#: Room kept for the trial file: a trial is not presented unless its file can still grow
#: by this much (free space and file-size limit). Far above any row (a few hundred bytes;
#: a ClickMe row with its clicks a few KiB), so the row of the next trial always fits.
ROW_ROOM = 64 * 1024
#: Room kept for the sidecar on top of its size: it grows by a status sentence at most.
SIDECAR_ROOM = 8 * 1024


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


class SessionLock:
    """An exclusive lock on ``path``, taken without waiting; refused if another process holds it.

    Parameters
    ----------
    path
        The lock file (created if needed; removed when the lock is released).
    who
        What is locked, for the refusal, e.g. ``"session 1 of participant 05"``.

    Raises
    ------
    LabError
        Another process holds the lock.
    OutputError
        The lock file cannot be created or locked.
    """

    def __init__(self, path: Path, who: str):
        self.path = path
        self._fd: int | None = None
        # The holder removes the file when it ends: a lock taken on a file that was
        # removed (or replaced) meanwhile locks nothing, so take it again on the new file.
        while self._fd is None:
            fd = self._open()
            if not _try_lock(fd, path):
                holder = _read_pid(fd)
                os.close(fd)
                raise LabError(
                    f"{path}: {who} is already running in another process{holder}; only one "
                    "process at a time runs a session, so wait for it to end or choose another "
                    "--session."
                )
            if _same_file(fd, path):
                self._fd = fd
            else:
                os.close(fd)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise OutputError(
                f"{self.path}: the session lock cannot be created, so the data folder cannot "
                f"be written ({_reason(error)})."
            ) from None

    def release(self) -> None:
        """Remove the lock file and release the lock (a second call does nothing)."""
        if self._fd is None:
            return
        # An unwritable folder keeps the file; the lock is released anyway.
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def _try_lock(fd: int, path: Path) -> bool:
    """Lock ``fd`` exclusively without waiting; False if another process holds the lock."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        os.close(fd)
        raise OutputError(f"{path}: the session lock cannot be taken ({_reason(error)}).") from None
    return True


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {text})" if text.isdigit() else ""


def _same_file(fd: int, path: Path) -> bool:
    try:
        current = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def folder_problem(folder: Path, probe: Path) -> str | None:
    """What stops a file from being created and removed in ``folder``, or None.

    ``probe`` is the name tried (hidden, owned by the session: the caller holds the lock).
    Permission bits do not stop root, and an immutable folder (``chattr +i``) stops
    everyone: so the folder is tried, not its mode read.
    """
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
        os.unlink(probe)
    except OSError as error:
        return f"{folder}: the data folder can no longer be written ({_reason(error)})"
    return None


def room_problem(path: Path, size: int, room: int) -> str | None:
    """What stops the file ``path`` of ``size`` bytes from growing by ``room`` bytes, or None.

    Both the free space of its file system and the file-size limit (``ulimit -f``,
    ``RLIMIT_FSIZE``) are asked.
    """
    try:
        stats = os.statvfs(path.parent)
    except OSError as error:
        return f"{path.parent}: the free space cannot be read ({_reason(error)})"
    free = stats.f_bavail * stats.f_frsize
    if free < room:
        return f"{path}: the disk is full ({free // 1024} KiB free, {room // 1024} KiB needed)"
    limit = _file_size_limit()
    if limit is not None and size + room > limit:
        return (
            f"{path}: the file-size limit (ulimit -f) of {limit} bytes leaves "
            f"{max(limit - size, 0)} bytes, less than the {room} needed to save another trial"
        )
    return None


def _file_size_limit() -> int | None:
    """The soft ``RLIMIT_FSIZE`` in bytes, or None when there is none (or no such limit)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if limit == resource.RLIM_INFINITY else int(limit)


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Overwrite the existing file ``path`` with ``data`` (when its folder cannot be written).

    Not atomic: used only when the atomic replacement cannot be made.
    """
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
