"""``psychoalign demo``: the bundled model against the bundled humans, and the summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from psychoalign.cli._common import user_errors

__all__: list[str] = []


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path(
        "results/demo"
    ),
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, ... (default: GPU if any).")
    ] = None,
) -> None:
    """Evaluate the bundled model on the bundled stimuli and compare it with the bundled humans.

    Runs EfficientNet-Lite0 on the real edge and silhouette stimuli and compares it trial
    by trial with their human observers; runs it on seeded uniform-noise sets made from
    them and shows its noise curve beside the model-vs-human humans' (NOT MATCHED: they
    saw noisy photographs), each observer's robustness the noise width at 50 % correct.
    Writes every figure and report.html under OUT. Runs offline.
    """
    with user_errors():
        from psychoalign.workflows.demo import run_demo, summary_table

        result = run_demo(out, device=device)
    import pandas as pd  # already imported by the demo; not for --help

    table = Table(title="EfficientNet-Lite0 and human observers")
    for column in ("experiment", "model accuracy", "κ model-human", "κ human-human"):
        table.add_column(column, justify="left" if column == "experiment" else "right")
    for row in summary_table(result).itertuples(index=False):
        table.add_row(
            row.experiment,
            f"{row.model_accuracy:.3f}",
            "–" if pd.isna(row.model_human_kappa) else f"{row.model_human_kappa:.3f}",
            "–" if pd.isna(row.human_human_kappa) else f"{row.human_human_kappa:.3f}",
        )
    output = Console()
    output.print(table)
    for note in result.notes:
        output.print(f"note: {note}", markup=False, highlight=False)
    output.print(f"Report: {result.report.resolve()}")
    output.print(f"Figures, tables and statistics: {result.out.resolve()}")
