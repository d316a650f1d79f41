"""One self-contained HTML report of a results folder: figures, tables, ceilings, provenance.

The report embeds every image (base64) and every figure's data (a CSV download link), so
it opens in any browser from a file, e-mail or archive, with no server and no network.
"""

from __future__ import annotations

import datetime as _datetime
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychoalign._io import check_output_file, write_text_atomic
from psychoalign.errors import MissingFileError, ReportError
from psychoalign.provenance import provenance
from psychoalign.report._html import figure_block, html_table, note, page, read_json, table_block
from psychoalign.report.kinds import OUTPUT_KINDS, OutputKind, find_outputs, read_table

__all__ = ["build_report"]

Output = tuple[OutputKind, Path]


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


def _figures(root: Path, outputs: list[Output], scratch: Path) -> list[str]:
    """The figures in ``root``; those of each output without figures are drawn into ``scratch``."""
    blocks = {png: figure_block(png) for png in _found(root, "*.png")}
    figures = [block for block in blocks.values() if block]
    for number, (kind, folder) in enumerate(outputs):
        if any(blocks[png] for png in blocks if png.is_relative_to(folder)):
            continue
        drawn = scratch / str(number)
        drawn.mkdir()
        kind.draw(folder / kind.tables, drawn)
        figures += [block for png in _found(drawn, "*.png") if (block := figure_block(png))]
    return figures


def _csv_tables(folder: Path) -> str:
    """Every CSV table in ``folder`` but the data of its figures."""
    if not folder.is_dir():
        return ""
    return "".join(
        table_block(csv, read_table(csv))
        for csv in sorted(folder.glob("*.csv"))
        if not csv.with_suffix(".png").is_file()
    )


def _heading(kind: OutputKind, folder: Path, root: Path) -> str:
    where = folder.relative_to(root).as_posix()
    return f"<h3>{html.escape(kind.title)}: <code>{html.escape(where)}</code></h3>"


def _ceilings(folder: Path) -> str:
    """Noise ceilings measured on the comparison tables in ``folder``."""
    blocks = []
    kappa_file = folder / "error_consistency.csv"
    kappa = read_table(kappa_file)
    humans = kappa[(kappa["kind_1"] == "human") & (kappa["kind_2"] == "human")]
    if len(humans):
        table = (
            humans.groupby("experiment")["kappa"]
            .agg(human_human_kappa="mean", minimum="min", maximum="max", n_pairs="size")
            .reset_index()
        )
        blocks.append(
            "<h4>Error consistency between humans</h4><p class='note'>The κ a model "
            "would need to be as consistent with humans as humans are with each other "
            "(mean over human pairs and conditions).</p>" + html_table(table)
        )
    consistency_file = folder / "behavioural_consistency.csv"
    if consistency_file.is_file():
        table = (
            read_table(consistency_file)
            .groupby(["experiment", "metric"])["reference_reliability"]
            .mean()
            .reset_index()
            .assign(ceiling=lambda t: np.sqrt(t["reference_reliability"].clip(lower=0)))
        )
        blocks.append(
            "<h4>Split-half reliability of the human signatures</h4><p class='note'>"
            "Correlation between random halves of the human data (r(h0, h1)); the ceiling "
            "of a model's correlation with half the data is its square root.</p>"
            + html_table(table)
        )
    image_file = folder / "image_accuracy.csv"
    if image_file.is_file():
        table = (
            read_table(image_file)
            .groupby("experiment")[["ceiling", "ceiling_low", "ceiling_high"]]
            .first()
            .reset_index()
        )
        blocks.append(
            "<h4>Per-image accuracy: split-half ceiling</h4><p class='note'>Spearman ρ between "
            "the per-image accuracies of two disjoint halves of the participants (bootstrap).</p>"
            + html_table(table)
        )
    return "".join(blocks)


def _frame(rows: list[tuple[Any, ...]], columns: list[str]) -> str:
    return html_table(pd.DataFrame(rows, columns=columns), max_rows=max(len(rows), 1))


def _provenance(root: Path) -> str:
    """Software versions, parameters, stimulus sets, models and inputs of every sidecar."""
    versions: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    for record in (read_json(p) for p in _found(root, "*.json")):
        versions.update({k: v for k, v in record.get("versions", {}).items() if v})
        parameters.update(record.get("parameters", {}))
        inputs.update({entry["path"]: entry["sha256"] for entry in record.get("inputs", [])})
    sets = {}
    for path in _found(root, "stimulus_set.json"):
        info = read_json(path)
        sets[info.get("name", path.parent.name)] = (info.get("checksum", ""), info.get("seed", ""))
    models = {}
    for path in _found(root, "run.json"):
        run = read_json(path)
        stimulus_set = run.get("stimulus_set", {})
        sets.setdefault(stimulus_set.get("name", "?"), (stimulus_set.get("checksum", ""), ""))
        models[run.get("observer", path.parent.name)] = (
            run.get("weights", ""),
            run.get("weights_sha256", ""),
        )
    parts = ["<h3>Software</h3>", _frame(sorted(versions.items()), ["package", "version"])]
    if parameters:
        rows = [(k, json.dumps(v)) for k, v in sorted(parameters.items())]
        parts += ["<h3>Parameters and seeds</h3>", _frame(rows, ["parameter", "value"])]
    if sets:
        rows = [(name, checksum, seed) for name, (checksum, seed) in sets.items()]
        columns = ["stimulus_set", "checksum (SHA-256 of manifest)", "seed"]
        parts += ["<h3>Stimulus sets</h3>", _frame(rows, columns)]
    if models:
        rows = [(name, weights, digest) for name, (weights, digest) in models.items()]
        parts += ["<h3>Models</h3>", _frame(rows, ["observer", "weights", "weights SHA-256"])]
    if inputs:
        parts.append(
            f"<details><summary>{len(inputs)} input files and their SHA-256</summary>"
            f"{_frame(sorted(inputs.items()), ['input file', 'SHA-256'])}</details>"
        )
    return "".join(parts)


def _sections(root: Path, outputs: list[Output], figures: list[str]) -> list[tuple[str, str]]:
    """The report's sections, in order, each with a note where it is empty."""
    ceilings = "".join(
        _heading(kind, folder, root) + _ceilings(folder / kind.tables)
        for kind, folder in outputs
        if kind.ceilings
    )
    statistics = "".join(
        _heading(kind, folder, root) + _csv_tables(folder / kind.statistics)
        for kind, folder in outputs
        if kind.statistics and (folder / kind.statistics).is_dir()
    )
    tables = "".join(
        _heading(kind, folder, root) + _csv_tables(folder / kind.tables) for kind, folder in outputs
    )
    return [
        ("Figures", "".join(figures) or note("No figures in this folder.")),
        ("Noise ceilings", ceilings or note("No ceilings could be measured.")),
        ("Statistics", statistics or note("No statistics in this folder.")),
        ("Tables", tables or note("No tables in this folder.")),
        ("Provenance", _provenance(root)),
    ]


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
        The folder: the output of any psychoalign command (``compare``, ``evaluate``,
        ``clickmaps align``, ``metamers recognisability``, ``metamers published``, the
        demo and ``run``; see :data:`psychoalign.report.OUTPUT_KINDS`), or a folder of
        such outputs. Each output's tables are shown, with its figures: those in its
        folder (PNG with the JSON sidecar psychoalign writes), or, where there are none,
        figures drawn from its tables. Every JSON sidecar, ``run.json`` and
        ``stimulus_set.json`` feeds the provenance section.
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

    Raises
    ------
    psychoalign.errors.MissingFileError
        ``results`` is not a folder.
    psychoalign.errors.ReportError
        ``results`` holds no output and no figure psychoalign wrote.
    """
    root = Path(results)
    if not root.is_dir():
        raise MissingFileError(f"{root}: the results folder does not exist.")
    check_output_file(out, "report.html")
    outputs = list(find_outputs(root))
    with tempfile.TemporaryDirectory(prefix="psychoalign-report-") as scratch:
        figures = _figures(root, outputs, Path(scratch))
    if not outputs and not figures:
        marks = "; ".join(" + ".join(kind.marks) for kind in OUTPUT_KINDS)
        raise ReportError(
            f"{root}: holds nothing psychoalign wrote; report looks for the output folders "
            f"of its commands ({marks}) and for figures (PNG with a JSON sidecar)."
        )
    created = _datetime.datetime.now(_datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    version = html.escape(str(provenance()["versions"]["psychoalign"]))
    heading = (
        f"Made {created} by psychoalign {version} from "
        f"<code>{html.escape(str(root.resolve()))}</code>; {len(outputs)} outputs, "
        f"{len(figures)} figures."
    )
    return write_text_atomic(out, page(title, heading, summary, _sections(root, outputs, figures)))
