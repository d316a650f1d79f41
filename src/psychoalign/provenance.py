"""Provenance of every output (versions, inputs, checksums, parameters) and atomic writes."""

from __future__ import annotations

import datetime as _datetime
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from psychoalign._io import file_sha256, staged_outputs

__all__ = ["file_sha256", "provenance", "write_outputs"]

_PACKAGES = ("psychoalign", "numpy", "pandas", "scipy", "pyarrow")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def provenance(
    inputs: Iterable[str | os.PathLike[str]] = (),
    parameters: Mapping[str, Any] | None = None,
    packages: Iterable[str] = (),
) -> dict[str, Any]:
    """Record how an output was made, ready for JSON.

    Parameters
    ----------
    inputs
        Input files; each is listed with its size and SHA-256.
    parameters
        Every option that shaped the output, seeds included.
    packages
        Packages whose versions matter beyond psychoalign, numpy, pandas, scipy and
        pyarrow.

    Returns
    -------
    dict
        ``created`` (UTC, ISO 8601), ``command``, ``python``, ``platform``,
        ``versions`` (package -> version), ``parameters`` and ``inputs``
        (``path, bytes, sha256``).
    """
    return {
        "created": _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in (*_PACKAGES, *packages)},
        "parameters": dict(parameters or {}),
        "inputs": [
            {"path": str(path), "bytes": Path(path).stat().st_size, "sha256": file_sha256(path)}
            for path in inputs
        ],
    }


def write_outputs(
    tables: Mapping[str, pd.DataFrame],
    folder: str | os.PathLike[str],
    record: Mapping[str, Any],
    *,
    descriptions: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``name.csv`` and its ``name.json`` sidecar for each table, all or nothing.

    Everything is written into a hidden staging folder first (beside a new ``folder``,
    which then appears at once; inside an existing one, whose files are then replaced
    one by one with atomic renames), so an error or a kill while writing leaves no
    partial output behind and a reader never sees a half-written file
    (:func:`psychoalign._io.staged_outputs`).
    ``descriptions`` adds a sentence per table to its sidecar (the report shows it).

    Returns
    -------
    list of pathlib.Path
        The CSV files written.
    """
    folder = Path(folder)
    with staged_outputs(folder) as staging:
        for name, table in tables.items():
            table.to_csv(staging / f"{name}.csv", index=False)
            sidecar = {
                **record,
                "table": f"{name}.csv",
                "rows": len(table),
                "columns": list(table.columns),
                **(
                    {"description": descriptions[name]}
                    if descriptions and name in descriptions
                    else {}
                ),
            }
            (staging / f"{name}.json").write_text(json.dumps(sidecar, indent=2, default=str) + "\n")
    return [folder / f"{name}.csv" for name in tables]
