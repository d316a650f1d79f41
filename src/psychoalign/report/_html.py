"""The HTML pieces of the report: style, tables, downloads, figures and the page."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychoalign._checks import is_whole

__all__: list[str] = []

MAX_ROWS = 40
_MAX_DOWNLOAD_BYTES = 2_000_000

STYLE = """
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


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; empty when the file is missing or not JSON."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def note(text: str) -> str:
    """A grey paragraph."""
    return f"<p class='note'>{html.escape(text)}</p>"


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def html_table(frame: pd.DataFrame, *, max_rows: int = MAX_ROWS) -> str:
    """The first ``max_rows`` rows of ``frame`` as an HTML table (numbers to 4 digits)."""
    head = "".join(
        f'<th class="{"" if pd.api.types.is_numeric_dtype(frame[c]) else "text"}">'
        f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    body = []
    for row in frame.head(max_rows).itertuples(index=False):
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
        note(f"Showing {max_rows} of {len(frame)} rows; the full table is in the download.")
        if len(frame) > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def download(path: Path) -> str:
    """A link that downloads the CSV file embedded in the page (its size, when too big)."""
    if path.stat().st_size > _MAX_DOWNLOAD_BYTES:
        size = path.stat().st_size // 1000
        return (
            f'<span class="note">{html.escape(path.name)} ({size} kB, in the results folder)</span>'
        )
    name = html.escape(path.name)
    return f'<a download="{name}" href="{_data_uri(path, "text/csv")}">{name}</a>'


def figure_block(png: Path) -> str | None:
    """The figure of ``png`` with its caption and data; None unless psychoalign drew it.

    psychoalign's figures have a JSON sidecar with a ``caption`` beside the PNG.
    """
    sidecar = read_json(png.with_suffix(".json"))
    if "caption" not in sidecar:
        return None
    data = png.with_suffix(".csv")
    link = f" Data: {download(data)}." if data.is_file() else ""
    # Shown at print size (96 CSS px per inch), so fonts match across figures.
    width = round(96 * sidecar.get("size_inches", [7.2])[0])
    title = html.escape(sidecar.get("title", png.stem))
    return (
        f'<figure><img alt="{title}" style="width: {width}px" src="{_data_uri(png, "image/png")}">'
        f"<figcaption><b>{title}.</b> {html.escape(sidecar['caption'])}{link}</figcaption>"
        "</figure>"
    )


def table_block(csv: Path, frame: pd.DataFrame) -> str:
    """A table read from ``csv``: its sidecar's title and description, rows and download."""
    sidecar = read_json(csv.with_suffix(".json"))
    title = sidecar.get("title", csv.stem.replace("_", " "))
    description = sidecar.get("description", "")
    return (
        f"<h4>{html.escape(title)}</h4>"
        + (note(description) if description else "")
        + html_table(frame)
        + f'<p class="note">Download: {download(csv)}</p>'
    )


def page(title: str, heading_note: str, summary: str, sections: list[tuple[str, str]]) -> str:
    """The whole HTML document."""
    body = "".join(
        f"<h2 id='{name.lower().replace(' ', '-')}'>{name}</h2>{content}"
        for name, content in sections
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>{heading_note}</p>{summary}{body}"
        "</body></html>"
    )
