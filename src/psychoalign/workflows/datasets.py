"""Published stimulus sets on demand: download, verify pinned SHA-256 checksums, index.

:func:`fetch_stimulus_set` downloads every file of a published set with pooch, checks
each against the SHA-256 pinned in the set's registry (``registry/<name>.txt`` beside
this module, pooch's registry format, written by ``scripts/build_dataset_registry.py``
from real copies of the files) and indexes the set in the cache as a saved
:class:`~psychoalign.stimuli.StimulusSet`, whose ``image`` ids are those of the
model-vs-human human trials. The cache (:func:`psychoalign.datasets.cache_dir`) holds

- ``downloads/<source>/<registry path>``: the raw downloads, pooch's cache;
- ``stimulus-sets/<name>/``: the indexed set (images, ``manifest.csv``,
  ``stimulus_set.json``), written atomically, so a failed fetch leaves no half set.

A registry entry is either one image (a set served as ``<folder>/<category>/<file>``,
as texture-vs-shape serves its stimuli) or one archive (a ``.tar.gz`` unpacked with
``pooch.Untar``, its images named as model-vs-human names them:
``<n>_<dataset>_<observer>_<condition>_<category>_<...>_<image>``). Only entries whose
checksum was computed from the real files ship.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from psychoalign._io import bytes_sha256
from psychoalign._progress import progress_bar
from psychoalign.datasets import (
    BUNDLED_STIMULUS_SETS,
    MODEL_VS_HUMAN_DATASETS,
    fetched_set_dir,
)
from psychoalign.errors import MissingFileError, StimulusSetError
from psychoalign.stimuli import IMAGE_SUFFIXES, SetWriter, StimulusSet
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES, image_id

if TYPE_CHECKING:  # importlib.resources.abc is Python >= 3.11
    from importlib.resources.abc import Traversable

__all__ = [
    "DATASETS_URL_ENVIRONMENT",
    "PublishedSet",
    "fetch_stimulus_set",
    "published_stimulus_sets",
]

#: Environment variable that overrides every published set's base URL (a mirror).
DATASETS_URL_ENVIRONMENT = "PSYCHOALIGN_DATASETS_URL"
_TEXTURE_VS_SHAPE = "https://raw.githubusercontent.com/rgeirhos/texture-vs-shape/master/stimuli/"
_GEIRHOS_2019 = (
    "Geirhos, Rubisch, Michaelis, Bethge, Wichmann & Brendel (2019). ImageNet-trained CNNs "
    "are biased towards texture; increasing shape bias improves accuracy and robustness. ICLR."
)
_HUMAN_RAW = "data/model-vs-human/human-raw/{name} (same image ids)"
#: Concurrent downloads: many small files are latency-bound, not bandwidth-bound.
_WORKERS = 8
_TIMEOUT_S = 30
_CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class PublishedSet:
    """A published stimulus set: where it is served and the checksum of every file.

    Attributes
    ----------
    name
        The set's name (the ``experiment`` of its human trials).
    base_url
        URL the registry paths are relative to.
    registry
        Registry file in pooch's format: ``<path> sha256:<hex>`` per line, ``#`` comments.
    folder
        For image entries, the registry folder holding ``<category>/<file>``; for an
        archive set, empty.
    archive
        Whether the registry's one entry is a ``.tar.gz`` of model-vs-human-named images.
    source
        Sub-folder of the cache's ``downloads`` (sets of one source share downloads).
    reference, licence, human_data
        What ``stimulus_set.json`` records of the set's origin (``human_data`` defaults
        to the bundled model-vs-human trials of the same name).
    """

    name: str
    base_url: str
    registry: Path | Traversable
    folder: str = ""
    archive: bool = False
    source: str = "texture-vs-shape"
    reference: str = _GEIRHOS_2019
    licence: str = "CC BY 4.0"
    human_data: str = ""


def _registry_file(name: str) -> Traversable:
    return resources.files("psychoalign.workflows") / "registry" / f"{name}.txt"


#: The published sets psychoalign can fetch, by name (their checksums are pinned).
_PUBLISHED = {
    spec.name: spec
    for spec in (
        PublishedSet(
            "cue-conflict",
            _TEXTURE_VS_SHAPE,
            _registry_file("cue-conflict"),
            folder="style-transfer-preprocessed-512",
        ),
        PublishedSet("edge", _TEXTURE_VS_SHAPE, _registry_file("edge"), folder="edges"),
        PublishedSet(
            "silhouette",
            _TEXTURE_VS_SHAPE,
            _registry_file("silhouette"),
            folder="filled-silhouettes",
        ),
    )
}


def _published(name: str | PublishedSet) -> PublishedSet:
    if isinstance(name, PublishedSet):
        return name
    if name in _PUBLISHED:
        return _PUBLISHED[name]
    if name in MODEL_VS_HUMAN_DATASETS:
        raise StimulusSetError(
            f"name: the checksums of model-vs-human's '{name}' archive are not pinned yet, so "
            f"it cannot be fetched; published stimulus sets: {', '.join(_PUBLISHED)}."
        )
    raise StimulusSetError(
        f"name: '{name}' is not a published stimulus set; choose from {', '.join(_PUBLISHED)}."
    )


def _read_registry(spec: PublishedSet) -> tuple[dict[str, str], str]:
    """The registry as ``{path: sha256}``, and the SHA-256 of the registry file itself.

    Read here rather than with ``pooch.Pooch.load_registry``, whose shlex parsing costs a
    third of a second per thousand lines on every (even no-op) fetch.
    """
    data = spec.registry.read_bytes()
    hashes = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        algorithm, _, digest = fields[-1].lower().rpartition(":")
        if len(fields) != 2 or algorithm not in ("", "sha256") or len(digest) != 64:
            raise StimulusSetError(
                f"{spec.registry}: line {number} is '{line.strip()}', not '<path> sha256:<hex>'."
            )
        hashes[fields[0]] = digest
    if not hashes or (spec.archive and len(hashes) != 1):
        raise StimulusSetError(
            f"{spec.registry}: lists {len(hashes)} files; a registry lists the set's images, "
            "or its one archive."
        )
    return hashes, bytes_sha256(data)


class _CheckedDownloader:
    """A pooch downloader: one kept-alive HTTP session per thread, one-sentence errors.

    pooch's own HTTP downloader opens a new connection (a new TLS handshake) for every
    file, which dominates the time of a set of a thousand small images. A checksum
    mismatch names the file and both checksums; pooch then removes the temporary
    download, so nothing unverified stays in its cache.
    """

    def __init__(self, hashes: dict[str, str], base_url: str):
        self._expected = {base_url + path: (path, digest) for path, digest in hashes.items()}
        self._local = threading.local()
        self._sessions: list[Any] = []

    def _session(self) -> Any:
        import requests

        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._sessions.append(self._local.session)
        return self._local.session

    def close(self) -> None:
        """Close every thread's connection."""
        for session in self._sessions:
            session.close()

    def __call__(self, url: str, output_file: str, pooch_object: Any) -> None:
        import requests

        digest = hashlib.sha256()
        try:
            with self._session().get(url, stream=True, timeout=_TIMEOUT_S) as response:
                response.raise_for_status()
                with open(output_file, "wb") as handle:
                    for chunk in response.iter_content(_CHUNK_BYTES):
                        handle.write(chunk)
                        digest.update(chunk)
        except requests.exceptions.HTTPError as error:
            raise MissingFileError(
                f"{url}: could not be downloaded (HTTP {error.response.status_code})."
            ) from None
        except requests.exceptions.RequestException as error:
            raise MissingFileError(
                f"{url}: could not be downloaded, the server is unreachable "
                f"({type(error).__name__}); check the network or the base URL."
            ) from None
        path, expected = self._expected[url]
        actual = digest.hexdigest()
        if actual != expected:
            raise StimulusSetError(
                f"{path}: downloaded from {url} has SHA-256 {actual} but the pinned checksum "
                f"is {expected}; the file was refused and nothing was indexed."
            )


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's one log line per downloaded file (the progress bar says it all)."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _download(
    spec: PublishedSet, hashes: dict[str, str], downloads: Path, base_url: str, progress: bool
) -> dict[str, list[Path]]:
    """Fetch every registry entry (a cached, intact file is not downloaded again)."""
    import pooch

    fetcher = pooch.create(
        path=downloads, base_url=base_url, registry={p: f"sha256:{h}" for p, h in hashes.items()}
    )
    downloader = _CheckedDownloader(hashes, fetcher.base_url)
    processor = pooch.Untar() if spec.archive else None
    columns = (
        TextColumn(f"fetching {spec.name:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    files: dict[str, list[Path]] = {}
    with (
        _quiet_pooch(),
        progress_bar(*columns, show=progress) as bar,
        ThreadPoolExecutor(_WORKERS) as pool,
    ):
        task = bar.add_task("fetch", total=len(hashes))
        # pooch creates a missing sub-folder unguarded: concurrent downloads would race.
        for parent in {(downloads / path).parent for path in hashes}:
            parent.mkdir(parents=True, exist_ok=True)
        futures = {
            pool.submit(fetcher.fetch, path, processor=processor, downloader=downloader): path
            for path in hashes
        }
        try:
            for future in as_completed(futures):
                result = future.result()
                files[futures[future]] = (
                    [Path(f) for f in result] if spec.archive else [Path(result)]
                )
                bar.advance(task)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            pool.shutdown()
            downloader.close()
    return files


def _folder_rows(
    spec: PublishedSet, files: dict[str, list[Path]], hashes: dict[str, str]
) -> Iterator[tuple[dict[str, str], Path]]:
    """Rows of images served as ``<folder>/<category>/<file>``: category from the folder."""
    for path in sorted(files):
        relative = (
            PurePosixPath(path).relative_to(spec.folder) if spec.folder else PurePosixPath(path)
        )
        if len(relative.parts) != 2:
            raise StimulusSetError(
                f"{spec.registry}: entry '{path}' is not at {spec.folder or '.'}/<category>/<file>."
            )
        row = {
            "stimulus": relative.as_posix(),
            "image": relative.name,
            "category": relative.parts[0],
            "condition": "0",
            "sha256": hashes[path],
        }
        yield row, files[path][0]


def _archive_rows(
    files: dict[str, list[Path]], downloads: Path
) -> Iterator[tuple[dict[str, str], Path]]:
    """Rows of an archive's images named ``<n>_<set>_<observer>_<condition>_<category>_...``."""
    ((archive, extracted),) = files.items()
    # pooch.Untar unpacks next to the archive, into <archive>.untar.
    top = downloads / f"{archive}.untar"
    images = sorted(f for f in extracted if f.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise StimulusSetError(f"{downloads / archive}: the archive holds no images.")
    for file in images:
        fields = file.name.split("_")
        if len(fields) < 6 or fields[4] not in MODEL_VS_HUMAN_CATEGORIES:
            raise StimulusSetError(
                f"{file}: is not named <n>_<set>_<observer>_<condition>_<category>_..._<image> "
                "with one of the 16 model-vs-human categories."
            )
        row = {
            "stimulus": file.relative_to(top).as_posix(),
            "image": image_id(file.name),
            "category": fields[4],
            "condition": fields[3],
        }
        yield row, file


def _is_current(folder: Path, registry_sha256: str) -> bool:
    if not (folder / "manifest.csv").is_file():
        return False
    made_with = StimulusSet.open(folder).info.get("made_with", {})
    return made_with.get("registry_sha256") == registry_sha256


def fetch_stimulus_set(
    name: str | PublishedSet,
    *,
    cache: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    progress: bool = True,
) -> StimulusSet:
    """Download a published stimulus set, verify every file's SHA-256 and index it.

    A set already fetched from the same registry is opened without a download.

    Parameters
    ----------
    name
        A published set (:func:`published_stimulus_sets`: ``cue-conflict``, ``edge``,
        ``silhouette``) or a :class:`PublishedSet` of your own.
    cache
        Cache folder (default :func:`psychoalign.datasets.cache_dir`:
        ``$PSYCHOALIGN_CACHE`` or the user cache).
    base_url
        Where the registry paths are served (a mirror); default
        ``$PSYCHOALIGN_DATASETS_URL``, else the set's upstream URL.
    progress
        Show a progress bar of the downloaded files on stderr.

    Returns
    -------
    StimulusSet
        The saved set at ``<cache>/stimulus-sets/<name>``: ``stimulus`` is
        ``<category>/<file>`` (image entries) or the path inside the archive, ``image`` the
        file name (the ``image`` id of the human trials), ``category`` the shape category
        (the category folder), ``condition`` ``"0"`` (as the human trial files write it;
        archives: the file name's condition field), ``sha256`` the pinned checksum.

    Raises
    ------
    psychoalign.errors.StimulusSetError
        Unknown name; a downloaded file whose SHA-256 is not the pinned one (nothing is
        indexed).
    psychoalign.errors.MissingFileError
        A file that cannot be downloaded (server unreachable, HTTP error): names the URL.

    References
    ----------
    .. [1] Geirhos, Rubisch, Michaelis, Bethge, Wichmann & Brendel (2019). ImageNet-trained
       CNNs are biased towards texture; increasing shape bias improves accuracy and
       robustness. ICLR. github.com/rgeirhos/texture-vs-shape (CC BY 4.0).
    .. [2] Uieda et al. (2020). Pooch: a friend to fetch your data files. JOSS 5(45), 1943.
    """
    spec = _published(name)
    target = fetched_set_dir(spec.name, cache=cache)
    hashes, registry_sha256 = _read_registry(spec)
    if _is_current(target, registry_sha256):
        return StimulusSet.open(target)
    url = base_url or os.environ.get(DATASETS_URL_ENVIRONMENT) or spec.base_url
    url = url if url.endswith("/") else url + "/"
    downloads = target.parent.parent / "downloads" / spec.source
    files = _download(spec, hashes, downloads, url, progress)
    rows = _archive_rows(files, downloads) if spec.archive else _folder_rows(spec, files, hashes)
    info = {
        "name": spec.name,
        "source": f"{spec.base_url} ({spec.reference})",
        "licence": spec.licence,
        "human_data": spec.human_data or _HUMAN_RAW.format(name=spec.name),
        "made_with": {
            "tool": "psychoalign.workflows.fetch_stimulus_set",
            "downloaded_from": url,
            "registry": spec.registry.name,
            "registry_sha256": registry_sha256,
        },
    }
    with SetWriter(target, overwrite=target.exists()) as writer:
        for row, file in rows:
            writer.add(row, file.read_bytes())
        return writer.commit(info)


def published_stimulus_sets(*, cache: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The published stimulus sets psychoalign can fetch, and whether they are fetched.

    Parameters
    ----------
    cache
        Cache folder (default :func:`psychoalign.datasets.cache_dir`).

    Returns
    -------
    pandas.DataFrame
        One row per set: ``name``, ``n_files`` (pinned files), ``url`` (upstream folder),
        ``licence``, ``bundled`` (also bundled with psychoalign), ``fetched`` (indexed in
        the cache from the current registry) and ``path`` (where it is, or would be).
    """
    rows = []
    for spec in _PUBLISHED.values():
        hashes, registry_sha256 = _read_registry(spec)
        folder = fetched_set_dir(spec.name, cache=cache)
        rows.append(
            {
                "name": spec.name,
                "n_files": len(hashes),
                "url": spec.base_url + spec.folder,
                "licence": spec.licence,
                "bundled": spec.name in BUNDLED_STIMULUS_SETS,
                "fetched": _is_current(folder, registry_sha256),
                "path": str(folder),
            }
        )
    return pd.DataFrame(rows)
