"""Stimulus sets: a folder of images, its manifest with checksums, and how it was made.

A stimulus set on disk is

- the images, at the relative paths of the ``stimulus`` column;
- ``manifest.csv``: ``stimulus, image, category, condition, sha256`` (+ ``seed``,
  ``source`` for sets made by degradation), one row per image;
- ``stimulus_set.json``: name, source, how it was made, every parameter, seed and the
  psychoalign version.

Experiments and model observers open a saved set and verify its checksums before the
first trial, so humans and models provably see the same pixels. The checksum of a whole set
is the SHA-256 of its manifest, which lists the SHA-256 of every image.
"""

from __future__ import annotations

import datetime as _datetime
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from psychoalign._io import (
    bytes_sha256,
    check_output_folder,
    file_sha256,
    remove_stale_temporaries,
    staging_folder,
    swap_folder,
)
from psychoalign.errors import OutputError
from psychoalign.stimuli.images import StimulusSetError, read_image

__all__ = ["IMAGE_SUFFIXES", "MANIFEST_COLUMNS", "SetWriter", "StimulusSet", "derived_stimulus"]

MANIFEST_COLUMNS = ("stimulus", "image", "category", "condition", "sha256")
MANIFEST_FILE = "manifest.csv"
INFO_FILE = "stimulus_set.json"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_VERIFY_COLUMNS = ["stimulus", "path", "problem"]


def _version() -> str:
    from psychoalign import __version__

    return __version__


def _csv_bytes(table: pd.DataFrame) -> bytes:
    """Serialise a table canonically (as ``manifest.csv`` and the set's tables hold it)."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _check_manifest(manifest: pd.DataFrame, where: str) -> pd.DataFrame:
    """Validate a manifest's columns and ids; name the row and column of the first problem."""
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise StimulusSetError(
            f"{where}: column '{missing[0]}' is missing; a manifest has the columns "
            f"{', '.join(MANIFEST_COLUMNS)}."
        )
    for column in MANIFEST_COLUMNS:
        empty = (manifest[column].astype(str).str.strip() == "").to_numpy() | manifest[
            column
        ].isna().to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0]) + 2
            raise StimulusSetError(f"{where}: row {row}: column '{column}' is empty.")
    for row, stimulus in enumerate(manifest["stimulus"], start=2):
        parts = PurePosixPath(stimulus).parts
        if PurePosixPath(stimulus).is_absolute() or ".." in parts or "\\" in stimulus:
            raise StimulusSetError(
                f"{where}: row {row}: column 'stimulus' has '{stimulus}', which is not a "
                "relative path inside the set (use / and no '..')."
            )
    for columns in (["stimulus"], ["condition", "image"]):
        repeated = manifest.duplicated(columns, keep=False).to_numpy()
        if repeated.any():
            rows = np.flatnonzero(repeated)[:2] + 2
            values = " and ".join(f"'{manifest[c].iloc[rows[0] - 2]}'" for c in columns)
            raise StimulusSetError(
                f"{where}: rows {rows[0]} and {rows[1]}: column '{columns[-1]}' repeats "
                f"{values}; ids must be unique"
                + (" within a condition." if len(columns) > 1 else ".")
            )
    return manifest


def derived_stimulus(condition: str, source: str) -> str:
    """The stimulus id of an image made from source stimulus ``source`` for ``condition``.

    Sets made from a source set (degradations, metamers) write each new image as an
    8-bit PNG in one folder per condition: ``<condition>/<source>.png``.

    Examples
    --------
    >>> derived_stimulus("0.35", "cat/cat1.jpg")
    '0.35/cat/cat1.png'
    """
    return str(PurePosixPath(condition) / PurePosixPath(source).with_suffix(".png"))


class StimulusSet:
    """A set of stimulus images with their manifest (see the module description).

    Open a saved set with :meth:`open`; index a plain ``<category>/<file>`` folder with
    :meth:`from_folder` or a CSV listing with :meth:`from_csv`, then :meth:`write` it.

    Examples
    --------
    >>> from psychoalign.datasets import stimulus_set
    >>> edge = stimulus_set("edge")
    >>> len(edge), edge.categories[:3]
    (160, ['airplane', 'bear', 'bicycle'])
    >>> edge.verify().empty
    True
    """

    def __init__(self, root: Path, manifest: pd.DataFrame, info: dict[str, Any], *, saved: bool):
        self._root = Path(root)
        self._manifest = manifest.reset_index(drop=True)
        self._info = dict(info)
        self._saved = saved

    # --- constructors ------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> StimulusSet:
        """Open a saved stimulus set (a folder holding ``manifest.csv``).

        Raises
        ------
        StimulusSetError
            The folder or its manifest is missing or malformed.
        """
        root = Path(path)
        manifest_path = root / MANIFEST_FILE
        if not manifest_path.is_file():
            hint = (
                " (a plain <category>/<file> folder: index it with StimulusSet.from_folder)"
                if root.is_dir()
                else ""
            )
            raise StimulusSetError(
                f"{root}: is not a stimulus set, it has no {MANIFEST_FILE}{hint}."
            )
        try:
            manifest = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
            # pandas prefixes "Error tokenizing data. C error: "; the rest says where.
            reason = str(error).strip().splitlines()[-1].split("C error: ")[-1]
            raise StimulusSetError(f"{manifest_path}: cannot be read as CSV ({reason}).") from None
        _check_manifest(manifest, str(manifest_path))
        info_path = root / INFO_FILE
        info: dict[str, Any] = {}
        if info_path.is_file():
            try:
                info = json.loads(info_path.read_text())
            except json.JSONDecodeError as error:
                raise StimulusSetError(f"{info_path}: is not valid JSON ({error}).") from None
        info.setdefault("name", root.name)
        return cls(root, manifest, info, saved=True)

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike[str], *, name: str | None = None, condition: str = "0"
    ) -> StimulusSet:
        """Index a plain ``<category>/<file>`` folder as an unsaved stimulus set.

        Every image is read (refusing unreadable, truncated, palette, alpha and 16-bit
        files) and hashed. The ``image`` id is the file name, which must be unique across
        categories, as in ``texture-vs-shape/stimuli/edges`` (``oven/oven10.png`` has id
        ``oven10.png``, the id of the model-vs-human trial files). Hidden files and files
        without an image suffix (:data:`IMAGE_SUFFIXES`) are ignored.
        """
        root = Path(folder)
        if not root.is_dir():
            raise StimulusSetError(f"{root}: is not a folder.")
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
            and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise StimulusSetError(f"{root}: holds no images ({', '.join(IMAGE_SUFFIXES)}).")
        rows = []
        for file in files:
            relative = file.relative_to(root)
            if len(relative.parts) != 2:
                raise StimulusSetError(
                    f"{file}: is not at <category>/<file> inside {root}; a plain stimulus "
                    "folder has one sub-folder per category."
                )
            rows.append((relative.as_posix(), file.name, relative.parts[0], condition))
        manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS[:4]))
        return cls._indexed(
            root,
            manifest,
            {
                "name": name or root.name,
                "source": str(root.resolve()),
                "made_with": {"tool": "StimulusSet.from_folder"},
            },
            str(root),
        )

    @classmethod
    def from_csv(cls, listing: str | os.PathLike[str], *, name: str | None = None) -> StimulusSet:
        """Index the images listed in a CSV as an unsaved stimulus set.

        The CSV has columns ``file`` (a path relative to the CSV's folder) and
        ``category``, and optionally ``image`` (default: the file name) and ``condition``
        (default ``"0"``).
        """
        listing = Path(listing)
        try:
            table = pd.read_csv(listing, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except FileNotFoundError:
            raise StimulusSetError(f"{listing}: file not found.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
            reason = str(error).strip().splitlines()[-1]
            raise StimulusSetError(f"{listing}: cannot be read as CSV ({reason}).") from None
        for column in ("file", "category"):
            if column not in table.columns:
                raise StimulusSetError(
                    f"{listing}: column '{column}' is missing; a listing has file, category "
                    "and optionally image and condition."
                )
        files = table["file"].str.replace("\\", "/", regex=False)
        manifest = pd.DataFrame(
            {
                "stimulus": files,
                "image": table["image"]
                if "image" in table.columns
                else files.map(lambda f: PurePosixPath(f).name),
                "category": table["category"],
                "condition": table["condition"] if "condition" in table.columns else "0",
            }
        )
        info = {
            "name": name or listing.stem,
            "source": str(listing.resolve()),
            "made_with": {"tool": "StimulusSet.from_csv"},
        }
        return cls._indexed(listing.parent, manifest, info, str(listing))

    @classmethod
    def _indexed(
        cls, root: Path, manifest: pd.DataFrame, info: dict[str, Any], where: str
    ) -> StimulusSet:
        _check_manifest(manifest.assign(sha256="-"), where)
        hashes = []
        for row, stimulus in enumerate(manifest["stimulus"], start=2):
            path = root / stimulus
            if not path.is_file():
                raise StimulusSetError(f"{where}: row {row}: file '{stimulus}' does not exist.")
            read_image(path)
            hashes.append(file_sha256(path))
        manifest = manifest.assign(sha256=hashes)
        return cls(root, manifest, {**info, "psychoalign_version": _version()}, saved=False)

    # --- contents ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The set's name (its folder name unless ``stimulus_set.json`` says otherwise)."""
        return str(self._info.get("name", self._root.name))

    @property
    def path(self) -> Path:
        """The folder the images are in."""
        return self._root

    @property
    def saved(self) -> bool:
        """Whether this is a saved set (opened from its own folder and manifest)."""
        return self._saved

    @property
    def info(self) -> dict[str, Any]:
        """Contents of ``stimulus_set.json``: name, source, how it was made, parameters, seed."""
        return dict(self._info)

    @property
    def manifest(self) -> pd.DataFrame:
        """The manifest: ``stimulus, image, category, condition, sha256`` (+ extra columns)."""
        return self._manifest.copy()

    @property
    def checksum(self) -> str:
        """SHA-256 of the manifest, which lists every image's SHA-256: the set's identity."""
        return bytes_sha256(_csv_bytes(self._manifest))

    def identity(self) -> dict[str, str]:
        """What outputs record of the set they were made from: ``name, path, checksum``."""
        return {"name": self.name, "path": str(self.path), "checksum": self.checksum}

    @property
    def categories(self) -> list[str]:
        """The categories, sorted."""
        return sorted(self._manifest["category"].unique())

    @property
    def conditions(self) -> list[str]:
        """The condition labels in manifest order."""
        return list(dict.fromkeys(self._manifest["condition"]))

    def __len__(self) -> int:
        return len(self._manifest)

    def __repr__(self) -> str:
        state = "saved" if self._saved else "unsaved"
        return (
            f"StimulusSet('{self.name}', {len(self)} stimuli, {len(self.conditions)} "
            f"condition(s), {state}, at {self._root})"
        )

    def frame(self) -> pd.DataFrame:
        """Return the manifest with each stimulus's absolute ``path`` added."""
        return self._manifest.assign(path=[self._root / s for s in self._manifest["stimulus"]])

    def __iter__(self) -> Iterator[Any]:
        """Rows of :meth:`frame` as named tuples (``row.stimulus``, ``row.path``, ...)."""
        return self.frame().itertuples(index=False, name="Stimulus")

    def file(self, stimulus: str) -> Path:
        """Absolute path of a stimulus."""
        if stimulus not in set(self._manifest["stimulus"]):
            raise StimulusSetError(f"stimulus: '{stimulus}' is not in stimulus set '{self.name}'.")
        return self._root / stimulus

    def load(self, stimulus: str) -> np.ndarray:
        """Read a stimulus as a float image (height, width, 3) in [0, 1]."""
        return read_image(self.file(stimulus))

    # --- checks and selections -----------------------------------------------------------

    def verify(self, *, raise_errors: bool = False) -> pd.DataFrame:
        """Check that every listed file is present, readable and matches its SHA-256.

        Parameters
        ----------
        raise_errors
            Raise a :class:`StimulusSetError` naming the first bad file (and how many
            there are) instead of returning the problems.

        Returns
        -------
        pandas.DataFrame
            ``stimulus, path, problem``, one row per bad file; empty when the set is intact.
        """
        problems = []
        for stimulus, expected in zip(
            self._manifest["stimulus"], self._manifest["sha256"], strict=True
        ):
            path = self._root / stimulus
            try:
                actual = file_sha256(path)
            except FileNotFoundError:
                problems.append((stimulus, str(path), "missing"))
                continue
            except OSError as error:
                problems.append((stimulus, str(path), f"unreadable ({error.strerror or error})"))
                continue
            if actual != expected:
                altered = f"SHA-256 {actual[:12]}... but the manifest says {expected[:12]}..."
                problems.append((stimulus, str(path), f"altered: {altered}"))
        table = pd.DataFrame(problems, columns=_VERIFY_COLUMNS)
        if raise_errors and len(table):
            first = table.iloc[0]
            others = f" (and {len(table) - 1} more bad files)" if len(table) > 1 else ""
            raise StimulusSetError(
                f"{first.path}: is {first.problem} in stimulus set '{self.name}'{others}; "
                "the set no longer holds the pixels it was made with."
            )
        return table

    def subset(
        self,
        *,
        conditions: Iterable[str] | None = None,
        categories: Iterable[str] | None = None,
        images: Iterable[str] | None = None,
        stimuli: Iterable[str] | None = None,
    ) -> StimulusSet:
        """Select the rows matching every given selection, as an unsaved set (manifest order)."""
        keep = np.ones(len(self._manifest), dtype=bool)
        selection = {}
        for column, wanted in (
            ("condition", conditions),
            ("category", categories),
            ("image", images),
            ("stimulus", stimuli),
        ):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            unknown = sorted(set(wanted) - set(self._manifest[column]))
            if unknown:
                raise StimulusSetError(
                    f"{column}: '{unknown[0]}' is not in stimulus set '{self.name}'."
                )
            keep &= self._manifest[column].isin(wanted).to_numpy()
            selection[column] = wanted
        info = {
            **self._info,
            "subset_of": {"name": self.name, "checksum": self.checksum},
            "selection": selection,
        }
        return StimulusSet(self._root, self._manifest[keep], info, saved=False)

    def relabel(
        self, categories: Mapping[str, Iterable[str]], *, name: str | None = None
    ) -> StimulusSet:
        """An unsaved set whose categories are merged into coarser ones (e.g. animal vs not).

        ``categories`` maps each new category to the set's categories it takes in; every
        category of the set must be taken in exactly once.
        """
        lookup: dict[str, str] = {}
        for new, olds in categories.items():
            for old in [olds] if isinstance(olds, str) else olds:
                if old in lookup:
                    raise StimulusSetError(
                        f"categories: '{old}' is put in both '{lookup[old]}' and '{new}'."
                    )
                lookup[old] = new
        missing = sorted(set(self._manifest["category"]) - set(lookup))
        if missing:
            raise StimulusSetError(
                f"categories: category '{missing[0]}' of stimulus set '{self.name}' is in no new "
                "category."
            )
        manifest = self._manifest.assign(category=self._manifest["category"].map(lookup))
        info = {
            **self._info,
            "name": name or self.name,
            "relabelled_from": {
                "name": self.name,
                "checksum": self.checksum,
                "categories": {k: list(v) for k, v in categories.items()},
            },
        }
        return StimulusSet(self._root, manifest, info, saved=False)

    # --- writing -------------------------------------------------------------------------

    def write(
        self,
        target: str | os.PathLike[str],
        *,
        name: str | None = None,
        overwrite: bool = False,
        info: dict[str, Any] | None = None,
    ) -> StimulusSet:
        """Copy the set to ``target`` atomically and return it opened from there.

        The copy is built in a hidden temporary folder next to ``target`` and renamed
        into place, so an interruption leaves no half set; an existing ``target`` is
        refused unless ``overwrite`` is True. Copied files are checked against their
        SHA-256. ``info`` adds to (or replaces) entries of ``stimulus_set.json``.
        """
        self.verify(raise_errors=True)
        info = {**self._info, **(info or {})}
        info["name"] = name or info.get("name", Path(target).name)
        with SetWriter(target, overwrite=overwrite) as writer:
            for row in self._manifest.itertuples(index=False):
                data = (self._root / row.stimulus).read_bytes()
                writer.add(row._asdict(), data)
            return writer.commit(info)


class SetWriter:
    """Build a stimulus set in a hidden folder next to ``target``, then rename it into place.

    Use as a context manager: :meth:`add` each image with its manifest row, optionally
    :meth:`add_table` (or :meth:`add_file`) the tables that describe the set, then
    :meth:`commit`. Leaving the block without committing (an error, Ctrl-C) removes the
    partial build.
    """

    def __init__(self, target: str | os.PathLike[str], *, overwrite: bool = False):
        self.target = self.check_target(target, overwrite=overwrite)
        self._overwrite = overwrite
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._staging = staging_folder(self.target, "building-")
        self._rows: list[dict[str, Any]] = []
        self._files: dict[str, str] = {}
        self._committed = False

    @staticmethod
    def check_target(target: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Refuse an existing ``target`` unless ``overwrite``; call it early before long work."""
        target = Path(target)
        if target.exists() and not target.is_dir():
            raise OutputError(f"{target}: is a file; give a folder for the stimulus set.")
        remove_stale_temporaries(target)  # those of a killed run, even when refused now
        if target.exists() and not overwrite:
            raise StimulusSetError(
                f"{target}: already exists; choose another --out or pass --overwrite to "
                "replace it (overwrite=True in Python)."
            )
        # A folder that cannot be written is refused now, not after the work.
        return check_output_folder(target)

    def __enter__(self) -> SetWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            shutil.rmtree(self._staging, ignore_errors=True)

    def add(self, row: dict[str, Any], data: bytes) -> str:
        """Write one image's bytes at ``row['stimulus']``; returns its SHA-256."""
        destination = self._staging / row["stimulus"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        digest = bytes_sha256(data)
        expected = row.get("sha256")
        if expected not in (None, "", digest):
            raise StimulusSetError(
                f"{row['stimulus']}: changed while being copied (SHA-256 {digest[:12]}... "
                f"instead of {expected[:12]}...)."
            )
        self._rows.append({**row, "sha256": digest})
        return digest

    def add_file(self, name: str, data: bytes) -> str:
        """Write a file that is not a stimulus (e.g. a table of how the set was made).

        It goes beside the manifest, which does not list it; ``stimulus_set.json`` records
        it under ``files`` with its SHA-256. Returns the SHA-256.
        """
        path = PurePosixPath(name)
        if (
            path.is_absolute()
            or ".." in path.parts
            or len(path.parts) != 1
            or name in (MANIFEST_FILE, INFO_FILE)
            or any(row["stimulus"] == name for row in self._rows)
        ):
            raise StimulusSetError(
                f"{self.target}: '{name}' cannot be added beside the manifest; give a plain "
                f"file name other than {MANIFEST_FILE}, {INFO_FILE} and the stimuli."
            )
        (self._staging / name).write_bytes(data)
        self._files[name] = bytes_sha256(data)
        return self._files[name]

    def add_table(self, name: str, table: pd.DataFrame) -> str:
        """:meth:`add_file` a table as CSV, written as canonically as the manifest."""
        return self.add_file(name, _csv_bytes(table))

    def commit(self, info: dict[str, Any], *, order: Sequence[int] | None = None) -> StimulusSet:
        """Write ``manifest.csv`` and ``stimulus_set.json`` and move the set into place.

        ``order`` lists the added rows (by position) in manifest order; default: as added.
        """
        if order is not None and sorted(order) != list(range(len(self._rows))):
            raise StimulusSetError(f"order: is not an order of the {len(self._rows)} rows added.")
        manifest = pd.DataFrame(self._rows if order is None else [self._rows[i] for i in order])
        ordered = list(MANIFEST_COLUMNS) + [
            c for c in manifest.columns if c not in MANIFEST_COLUMNS
        ]
        manifest = _check_manifest(manifest[ordered], str(self.target / MANIFEST_FILE))
        manifest_data = _csv_bytes(manifest)
        record = {
            **info,
            "n_stimuli": len(manifest),
            "checksum": bytes_sha256(manifest_data),
            **({"files": dict(self._files)} if self._files else {}),
            "psychoalign_version": _version(),
            "created": _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        (self._staging / MANIFEST_FILE).write_bytes(manifest_data)
        (self._staging / INFO_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")
        try:
            swap_folder(self._staging, self.target, replace=self._overwrite)
        except FileExistsError:
            raise StimulusSetError(
                f"{self.target}: appeared while the set was being built; nothing was overwritten."
            ) from None
        self._committed = True
        return StimulusSet.open(self.target)
