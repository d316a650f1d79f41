"""File SHA-256, atomic file writes, atomic folder swaps and output checks: one copy of each.

A reader never sees a half-written file or folder, and an interrupted write leaves
nothing behind: everything is written to a hidden temporary beside its target (same
folder, so the same file system, even when the target is a mount point such as a tmpfs
or a Docker volume) and renamed into place. A temporary is named
``.<target>.<purpose><host>-<pid>-<random>``, so one left by a killed process (SIGKILL
cannot be cleaned up after) is recognised and removed by the next write of the same
target. Files and folders get the user's umask (``mkstemp`` and ``mkdtemp`` would make
them 0600 and 0700, unreadable to the rest of a lab on a shared drive).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from psychoalign.errors import OutputError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "atomic_file",
    "bytes_sha256",
    "check_output_file",
    "check_output_folder",
    "current_umask",
    "file_sha256",
    "is_temporary",
    "os_error_sentence",
    "public_path",
    "read_npz",
    "remove_stale_temporaries",
    "replaced_folder",
    "staged_outputs",
    "staging_folder",
    "swap_folder",
    "write_bytes_atomic",
    "write_npz_atomic",
    "write_text_atomic",
]

# Eight hex digits of the host name: a temporary on a shared drive is judged stale only
# by the host whose process made it (a process id means nothing on another machine).
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(
    r"^\.(?P<name>.+)\.(?P<purpose>[a-z]+-)?(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[a-z0-9_]+$"
)
# The staging folder of files bound for an existing folder sits inside that folder.
_WITHIN = "within-"


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


# --- the user's umask ---------------------------------------------------------------------


def current_umask() -> int:
    """The process's umask, read without changing it (``/proc/self/status`` on Linux)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return _umask_by_setting()


@functools.cache
def _umask_by_setting() -> int:
    # Elsewhere the umask can only be read by setting it; done once, as early as asked.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- hidden temporaries -------------------------------------------------------------------


def _prefix(name: str, purpose: str) -> str:
    return f".{name}.{purpose}{_HOST}-{os.getpid()}-"


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is one of psychoalign's hidden temporaries."""
    return _TEMPORARY.match(name) is not None


def _owner_is_gone(match: re.Match[str]) -> bool:
    if match["host"] != _HOST or int(match["pid"]) == os.getpid():
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def _remove_stale(directory: Path, name: str) -> None:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match["name"] != name or not _owner_is_gone(match):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def remove_stale_temporaries(target: str | os.PathLike[str]) -> None:
    """Remove the hidden temporaries of ``target`` whose process on this host has ended.

    Those of a running process (a second command writing the same target) are kept.
    """
    target = Path(target)
    _remove_stale(target.parent, target.name)
    if target.is_dir():
        _remove_stale(target, target.name)


def public_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as the user knows it: hidden temporaries replaced by their targets."""
    parts: list[str] = []
    for part in Path(path).parts:
        match = _TEMPORARY.match(part)
        if match is None:
            parts.append(part)
        elif match["purpose"] != _WITHIN:
            parts.append(match["name"])
    return Path(*parts) if parts else Path(path)


def _make_folder(directory: Path, name: str, purpose: str) -> Path:
    _remove_stale(directory, name)
    folder = Path(tempfile.mkdtemp(prefix=_prefix(name, purpose), dir=directory))
    folder.chmod(0o777 & ~current_umask())
    return folder


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str], mode: str = "w", *, fsync: bool = False, **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a hidden temporary beside ``path``; on success rename it onto ``path``.

    ``mode`` is ``"w"`` or ``"wb"``; ``fsync`` flushes the data to disk before the rename
    (lab data). On an exception the temporary is removed and ``path`` is untouched. The
    file gets the user's umask (``0o666 & ~umask``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path.parent, path.name)
    descriptor, temporary = tempfile.mkstemp(prefix=_prefix(path.name, ""), dir=path.parent)
    try:
        with os.fdopen(descriptor, mode, **open_kwargs) as handle:
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
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
    return _make_folder(target.parent, target.name, purpose)


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
        if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None
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


@contextlib.contextmanager
def staged_outputs(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a command's files for ``folder`` in the yielded staging folder, then move them in.

    A new ``folder`` appears at once, complete (the staging folder beside it is renamed);
    into an existing one (other files in it are kept) each file is renamed in its turn,
    from a staging folder inside it, so even a mount point is on the same file system.
    An exception inside the block leaves ``folder`` as it was.
    """
    folder = Path(folder)
    check_output_folder(folder)
    fresh = not folder.exists()
    if fresh:
        staging = staging_folder(folder, "building-")
    else:
        staging = _make_folder(folder, folder.name, _WITHIN)
    try:
        yield staging
        if fresh:
            with contextlib.suppress(FileExistsError):
                swap_folder(staging, folder, replace=False)
                return
        for staged in sorted(staging.iterdir()):
            if staged.is_dir():
                swap_folder(staged, folder / staged.name, replace=True)
            else:
                os.replace(staged, folder / staged.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- checks before work, and OSErrors in words --------------------------------------------


def _nearest_existing(path: Path) -> Path:
    """The nearest existing folder above ``path``, refusing a file on the way."""
    for ancestor in path.absolute().parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                shown = next(p for p in path.parents if p.absolute() == ancestor)
                raise OutputError(f"{path}: {shown} is a file, not a folder.")
            return ancestor
    return Path(path.absolute().anchor)


def _probe(directory: Path, target: Path) -> None:
    """Create and remove a hidden file in ``directory``: can ``target`` be written there?"""
    try:
        descriptor, probe = tempfile.mkstemp(prefix=_prefix(target.name, "probe-"), dir=directory)
    except OSError as error:
        raise OutputError(os_error_sentence(error, target, path=target)) from None
    os.close(descriptor)
    os.unlink(probe)


def check_output_folder(folder: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be written.

    Also removes the stale temporaries of a killed earlier run (see the module).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file; give a folder for the output.")
    _probe(folder if folder.is_dir() else _nearest_existing(folder), folder)
    remove_stale_temporaries(folder)
    return folder


def check_output_file(path: str | os.PathLike[str], example: str = "") -> Path:
    """Refuse, before any work, an output file that is a folder or cannot be written."""
    path = Path(path)
    if path.is_dir():
        named = f" (e.g. {path / example})" if example else ""
        raise OutputError(f"{path}: is a folder; give the name of the file to write{named}.")
    _probe(_nearest_existing(path), path)
    remove_stale_temporaries(path)
    return path


_WORDS = {
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "operation not permitted (is the folder read-only or immutable?)",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space is left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file would exceed the file-size limit (ulimit -f)",
    errno.EEXIST: "it already exists",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOENT: "no such file or folder",
    errno.ENOTEMPTY: "the folder is not empty",
    errno.EXDEV: "it is a mount point or on another file system; give a folder inside it",
    errno.EBUSY: "it is in use (a mount point cannot be replaced)",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EMFILE: "too many files are open",
    errno.EIO: "an input/output error (a failing disk or network drive?)",
}


def os_error_sentence(
    error: OSError,
    fallback: str | os.PathLike[str] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
) -> str:
    """One sentence for an ``OSError``: the path as the user knows it, and plain words.

    The path is ``path`` if given, else the error's (a rename's destination first),
    else ``fallback`` (a write that fails for lack of space names no file).
    """
    words = _WORDS.get(error.errno or -1) or (error.strerror or str(error)).rstrip(".").lower()
    if path is None:
        named = error.filename2 if error.errno != errno.ENOENT else None
        path = named or error.filename or fallback
    if path is None:
        return f"{words[0].upper()}{words[1:]}."
    return f"{public_path(os.fsdecode(path))}: {words}."


def write_npz_atomic(
    path: str | os.PathLike[str], arrays: Mapping[str, Any], *, fsync: bool = False
) -> Path:
    """Write ``arrays`` as an uncompressed ``.npz`` file at ``path`` atomically.

    The counterpart of :func:`read_npz`; returns the path.
    """
    import numpy as np

    with atomic_file(path, "wb", fsync=fsync) as handle:
        np.savez(handle, **arrays)
    return Path(path)


def read_npz(
    path: str | os.PathLike[str], error: type[Exception], not_ours: str, advice: str = ""
) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, never unpickling (``allow_pickle=False``).

    A file that is not an ``.npz`` archive raises ``error(not_ours)``; an object array (a
    pickle, which would run code when loaded) or a damaged one raises ``error`` naming
    the file and the array, followed by ``advice`` (e.g. how to make the file again).
    """
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile):  # not numpy, or a pickle
        raise error(not_ours) from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # a single .npy array
        raise error(not_ours)
    arrays = {}
    with data:
        for name in data.files:
            try:
                arrays[name] = data[name]
            except ValueError:  # numpy refuses object arrays without allow_pickle
                raise error(
                    f"{path}: array '{name}' holds pickled Python objects, which psychoalign "
                    f"never loads (unpickling runs code){advice}."
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as problem:
                raise error(f"{path}: array '{name}' cannot be read ({problem}).") from None
    return arrays
