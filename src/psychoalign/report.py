"""One self-contained HTML report of a results folder: figures, tables, ceilings, provenance.

The report embeds every image (base64) and every figure's data (a CSV download link), so
it opens in any browser from a file, e-mail or archive, with no server and no network.
"""

from __future__ import annotations

import base64
import datetime as _datetime
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychoalign._checks import is_whole
from psychoalign._io import check_output_file, write_text_atomic
from psychoalign.errors import MissingFileError
from psychoalign.provenance import provenance

__all__ = ["build_report"]

_MAX_ROWS = 40
_MAX_DOWNLOAD_BYTES = 2_000_000

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.6rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #444; }
table { border-collapse: collapse; font-size: .8rem; margin: .6rem 0 1.2rem; }
th, td { border: 1px solid #ddd; padding: .2rem .45rem; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
.note { font-size: .85rem; color: #555; } code { background: #f6f6f6; padding: 0 .2rem; }
details { margin: .4rem 0 1rem; } summary { cursor: pointer; }
"""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _found(root: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` under ``root``, sorted, none inside a hidden folder.

    Hidden folders hold what is still being written (or was, by a killed command), which
    is no output.
    """
    return sorted(
        path
        for path in root.rglob(pattern)
        if not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _html_table(frame: pd.DataFrame, *, max_rows: int = _MAX_ROWS) -> str:
    shown = frame.head(max_rows)
    head = "".join(
        f'<th class="{"" if pd.api.types.is_numeric_dtype(frame[c]) else "text"}">'
        f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, (float, np.floating)):
                text, kind = ("–" if np.isnan(value) else f"{value:.4g}"), ""
            elif is_whole(value):
                text, kind = str(value), ""
            else:
                text, kind = html.escape(str(value)), "text"
            cells.append(f'<td class="{kind}">{text}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = (
        f'<p class="note">Showing {max_rows} of {len(frame)} rows; the full table is in the '
        "download.</p>"
        if len(frame) > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _download(path: Path) -> str:
    if path.stat().st_size > _MAX_DOWNLOAD_BYTES:
        size = path.stat().st_size // 1000
        return (
            f'<span class="note">{html.escape(path.name)} ({size} kB, in the results folder)</span>'
        )
    name = html.escape(path.name)
    return f'<a download="{name}" href="{_data_uri(path, "text/csv")}">{name}</a>'


def _figures(root: Path) -> list[str]:
    blocks = []
    for png in _found(root, "*.png"):
        sidecar = _read_json(png.with_suffix(".json"))
        if "caption" not in sidecar:
            continue
        data = png.with_suffix(".csv")
        link = f" Data: {_download(data)}." if data.is_file() else ""
        # Shown at print size (96 CSS px per inch), so fonts match across figures.
        width = round(96 * sidecar.get("size_inches", [7.2])[0])
        blocks.append(
            f'<figure><img alt="{html.escape(sidecar.get("title", png.stem))}" '
            f'style="width: {width}px" src="{_data_uri(png, "image/png")}">'
            f"<figcaption><b>{html.escape(sidecar.get('title', png.stem))}.</b> "
            f"{html.escape(sidecar['caption'])}{link}</figcaption></figure>"
        )
    return blocks


def _tables(root: Path, folder: str) -> list[str]:
    blocks = []
    for csv in sorted((root / folder).glob("*.csv")) if (root / folder).is_dir() else []:
        frame = pd.read_csv(csv, keep_default_na=True)
        sidecar = _read_json(csv.with_suffix(".json"))
        title = sidecar.get("title", csv.stem.replace("_", " "))
        note = sidecar.get("description", "")
        blocks.append(
            f"<h3>{html.escape(title)}</h3>"
            + (f'<p class="note">{html.escape(note)}</p>' if note else "")
            + _html_table(frame)
            + f'<p class="note">Download: {_download(csv)}</p>'
        )
    return blocks


def _ceilings(root: Path) -> list[str]:
    """Noise ceilings measured on the data at hand."""
    blocks = []
    kappa_file = root / "tables" / "error_consistency.csv"
    if kappa_file.is_file():
        kappa = pd.read_csv(kappa_file, keep_default_na=False, na_values=[""])
        humans = kappa[(kappa["kind_1"] == "human") & (kappa["kind_2"] == "human")]
        if len(humans):
            table = (
                humans.groupby("experiment")["kappa"]
                .agg(human_human_kappa="mean", minimum="min", maximum="max", n_pairs="size")
                .reset_index()
            )
            blocks.append(
                "<h3>Error consistency between humans</h3><p class='note'>The κ a model "
                "would need to be as consistent with humans as humans are with each other "
                "(mean over human pairs and conditions).</p>" + _html_table(table)
            )
    consistency_file = root / "tables" / "behavioural_consistency.csv"
    if consistency_file.is_file():
        consistency = pd.read_csv(consistency_file)
        table = (
            consistency.groupby(["experiment", "metric"])["reference_reliability"]
            .mean()
            .reset_index()
            .assign(ceiling=lambda t: np.sqrt(t["reference_reliability"].clip(lower=0)))
        )
        blocks.append(
            "<h3>Split-half reliability of the human signatures</h3><p class='note'>"
            "Correlation between random halves of the human data (r(h0, h1)); the ceiling "
            "of a model's correlation with half the data is its square root.</p>"
            + _html_table(table)
        )
    image_file = root / "tables" / "image_accuracy.csv"
    if image_file.is_file():
        image = pd.read_csv(image_file)
        table = (
            image.groupby("experiment")[["ceiling", "ceiling_low", "ceiling_high"]]
            .first()
            .reset_index()
        )
        blocks.append(
            "<h3>Per-image accuracy: split-half ceiling</h3><p class='note'>Spearman ρ between "
            "the per-image accuracies of two disjoint halves of the participants (bootstrap).</p>"
            + _html_table(table)
        )
    return blocks


def _provenance(root: Path) -> str:
    records = [_read_json(p) for p in _found(root, "*.json")]
    versions: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    for record in records:
        versions.update({k: v for k, v in record.get("versions", {}).items() if v})
        parameters.update(record.get("parameters", {}))
        for entry in record.get("inputs", []):
            inputs[entry["path"]] = entry["sha256"]
    sets = {}
    for path in _found(root, "stimulus_set.json"):
        info = _read_json(path)
        sets[info.get("name", path.parent.name)] = (info.get("checksum", ""), info.get("seed", ""))
    models = {}
    for path in _found(root, "run.json"):
        run = _read_json(path)
        stimulus_set = run.get("stimulus_set", {})
        sets.setdefault(stimulus_set.get("name", "?"), (stimulus_set.get("checksum", ""), ""))
        models[run.get("observer", path.parent.name)] = (
            run.get("weights", ""),
            run.get("weights_sha256", ""),
        )
    parts = [
        "<h3>Software</h3>",
        _html_table(pd.DataFrame(sorted(versions.items()), columns=["package", "version"])),
    ]
    if parameters:
        parts += [
            "<h3>Parameters and seeds</h3>",
            _html_table(
                pd.DataFrame(
                    [(k, json.dumps(v)) for k, v in sorted(parameters.items())],
                    columns=["parameter", "value"],
                )
            ),
        ]
    if sets:
        parts += [
            "<h3>Stimulus sets</h3>",
            _html_table(
                pd.DataFrame(
                    [(name, checksum, seed) for name, (checksum, seed) in sets.items()],
                    columns=["stimulus_set", "checksum (SHA-256 of manifest)", "seed"],
                )
            ),
        ]
    if models:
        parts += [
            "<h3>Models</h3>",
            _html_table(
                pd.DataFrame(
                    [(name, weights, digest) for name, (weights, digest) in models.items()],
                    columns=["observer", "weights", "weights SHA-256"],
                )
            ),
        ]
    if inputs:
        table = pd.DataFrame(sorted(inputs.items()), columns=["input file", "SHA-256"])
        parts.append(
            f"<details><summary>{len(inputs)} input files and their SHA-256</summary>"
            f"{_html_table(table, max_rows=len(table))}</details>"
        )
    return "".join(parts)


def build_report(
    results: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    title: str = "psychoalign report",
    summary: str = "",
) -> Path:
    """Write one self-contained HTML report of a results folder.

    Parameters
    ----------
    results
        The folder: figures anywhere in it (PNG with the JSON sidecar psychoalign
        writes), and the CSV tables of ``tables/`` and ``stats/``; every JSON sidecar,
        ``run.json`` and ``stimulus_set.json`` feeds the provenance section.
    out
        The HTML file (written atomically).
    title
        Heading of the report.
    summary
        An HTML paragraph placed under the heading.

    Returns
    -------
    pathlib.Path
        The report.
    """
    root = Path(results)
    if not root.is_dir():
        raise MissingFileError(f"{root}: the results folder does not exist.")
    check_output_file(out, "report.html")
    figures = _figures(root)
    sections = [
        ("Figures", "".join(figures) or "<p class='note'>No figures in this folder.</p>"),
        (
            "Noise ceilings",
            "".join(_ceilings(root)) or "<p class='note'>No ceilings could be measured.</p>",
        ),
        (
            "Statistics",
            "".join(_tables(root, "stats")) or "<p class='note'>No statistics in this folder.</p>",
        ),
        (
            "Tables",
            "".join(_tables(root, "tables")) or "<p class='note'>No tables in this folder.</p>",
        ),
        ("Provenance", _provenance(root)),
    ]
    record = provenance()
    created = _datetime.datetime.now(_datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(
        f"<h2 id='{name.lower().replace(' ', '-')}'>{name}</h2>{content}"
        for name, content in sections
    )
    document = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class='note'>Made {created} by psychoalign "
        f"{html.escape(str(record['versions']['psychoalign']))} "
        f"from <code>{html.escape(str(root.resolve()))}</code>; {len(figures)} figures.</p>"
        f"{summary}{body}</body></html>"
    )
    return write_text_atomic(out, document)
