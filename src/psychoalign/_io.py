"""File SHA-256, atomic file writes and atomic folder swaps: the one copy of each.

A reader never sees a half-written file or folder, and an interrupted write leaves
nothing behind: everything is written to a hidden temporary beside its target (same
folder, so the same file system) and renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_file",
    "bytes_sha256",
    "file_sha256",
    "replaced_folder",
    "staging_folder",
    "swap_folder",
    "write_bytes_atomic",
    "write_text_atomic",
]


def bytes_sha256(data: bytes) -> str:
    """SHA-256 of ``data``, as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str], mode: str = "w", *, fsync: bool = False, **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a hidden temporary beside ``path``; on success rename it onto ``path``.

    ``mode`` is ``"w"`` or ``"wb"``; ``fsync`` flushes the data to disk before the rename
    (lab data). On an exception the temporary is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, mode, **open_kwargs) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str, *, fsync: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_file(path, "w", fsync=fsync, encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_file(path, "wb", fsync=fsync) as handle:
        handle.write(data)
    return Path(path)


def staging_folder(target: str | os.PathLike[str], purpose: str = "") -> Path:
    """Make a hidden, empty folder beside ``target`` to build its contents in."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{purpose}", dir=target.parent))


def swap_folder(staging: Path, target: str | os.PathLike[str], *, replace: bool) -> Path:
    """Rename the finished ``staging`` folder onto ``target``.

    With ``replace`` an existing ``target`` is moved aside first and removed after the
    swap; without it an existing ``target`` raises ``FileExistsError`` and ``staging``
    is left for the caller to remove.
    """
    target = Path(target)
    if replace and target.exists():
        retired = staging_folder(target, "old-")
        os.replace(target, retired / target.name)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
        return target
    try:
        os.rename(staging, target)
    except OSError as error:
        raise FileExistsError(f"{target}: already exists") from error
    return target


@contextlib.contextmanager
def replaced_folder(target: str | os.PathLike[str], *, replace: bool = True) -> Iterator[Path]:
    """Build a folder's contents in the yielded staging folder, then swap it onto ``target``.

    An exception inside the block removes the staging folder and leaves ``target`` as it
    was.
    """
    staging = staging_folder(target)
    try:
        yield staging
        swap_folder(staging, target, replace=replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
