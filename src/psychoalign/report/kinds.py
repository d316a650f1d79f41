"""What the report recognises: each kind of output psychoalign writes, and its figures.

Every command's output is one entry of :data:`OUTPUT_KINDS`: the files that mark it, where
its tables (and statistics) are, whether noise ceilings can be measured on it, and how its
figures are drawn from its tables when the folder holds none. A new kind of output is one
more entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from psychoalign.report._html import read_json
from psychoalign.trials import read_trials

__all__ = ["OUTPUT_KINDS", "OutputKind", "find_outputs"]


#: Columns of labels, read as text even where every label is a number (conditions ``0``, ``1``).
_LABELS = ("experiment", "condition", "observer", "observer_1", "observer_2", "model", "layer")


def read_table(path: Path) -> pd.DataFrame:
    """A CSV table psychoalign wrote; only empty cells are missing (a condition may be "NA")."""
    return pd.read_csv(
        path, keep_default_na=False, na_values=[""], dtype=dict.fromkeys(_LABELS, str)
    )


@dataclass(frozen=True)
class OutputKind:
    """One kind of output folder psychoalign writes.

    Attributes
    ----------
    name
        Short name, e.g. ``"compare"``.
    title
        Heading of its tables in the report.
    marks
        Files, relative to the folder, that are all there in an output of this kind.
    draw
        Draws its figures from the tables folder into a folder (PNG with JSON sidecars,
        as :mod:`psychoalign.plots` writes them); used when the output holds no figure.
    tables
        Sub-folder of its tables (``""``: the folder itself).
    statistics
        Sub-folder of its statistics, if any.
    ceilings
        Whether the tables are those of :func:`psychoalign.metrics.comparison_tables`,
        on which the noise ceilings are measured.
    holds_outputs
        Whether the folder also holds outputs of other kinds, searched too (a sweep's
        units).
    """

    name: str
    title: str
    marks: tuple[str, ...]
    draw: Callable[[Path, Path], None]
    tables: str = ""
    statistics: str | None = None
    ceilings: bool = False
    holds_outputs: bool = False

    def matches(self, folder: Path) -> bool:
        """Whether ``folder`` is an output of this kind."""
        return all((folder / mark).is_file() for mark in self.marks)


def _draw_comparison(tables: Path, out: Path) -> None:
    from psychoalign import plots

    accuracy = read_table(tables / "accuracy.csv")
    if len(accuracy):
        plots.accuracy_by_level(accuracy, out / "accuracy")
    kappa = read_table(tables / "error_consistency.csv")
    if len(kappa):
        plots.error_consistency_by_level(kappa, out / "error_consistency")
    if (tables / "behavioural_consistency.csv").is_file():
        plots.consistency_bars(
            read_table(tables / "behavioural_consistency.csv"), out / "consistency_ceilings"
        )
    plots.benchmark_table(read_table(tables / "benchmark.csv"), out / "benchmark_table")


def _draw_evaluation(unit: Path, out: Path) -> None:
    from psychoalign import plots
    from psychoalign.metrics import accuracy

    # The model may answer any category of its decision mapping, not only the set's.
    categories = list(read_json(unit / "run.json").get("mapping", {}).get("categories", {}))
    trials = read_trials(unit / "trials.csv", categories=categories or None)
    chance = 1 / (len(categories) or trials["category"].nunique())
    plots.accuracy_by_level(accuracy(trials), out / "accuracy", chance=chance)


def _draw_clickmaps(folder: Path, out: Path) -> None:
    from psychoalign.plots.clickmaps import clickmap_scores

    clickmap_scores(read_table(folder / "clickmap_summary.csv"), out / "clickmap_scores")


def _draw_metamers(folder: Path, out: Path) -> None:
    from psychoalign.plots.metamers import metamer_recognisability_plot

    metamer_recognisability_plot(
        read_table(folder / "metamer_recognisability.csv"), out / "metamer_recognisability"
    )


def _draw_published(folder: Path, out: Path) -> None:
    from psychoalign.plots.published_metamers import published_recognisability_plot

    published_recognisability_plot(
        read_table(folder / "recognisability.csv"), out / "recognisability_figure"
    )


def _draw_nothing(folder: Path, out: Path) -> None:
    """A sweep's figures are those of its units."""


_COMPARISON = ("accuracy.csv", "error_consistency.csv", "benchmark.csv")

#: Every kind of output, in the order a folder is tried against them.
OUTPUT_KINDS: tuple[OutputKind, ...] = (
    OutputKind(
        "comparison",
        "Humans and models compared (psychoalign run / demo)",
        tuple(f"tables/{name}" for name in _COMPARISON),
        _draw_comparison,
        tables="tables",
        statistics="stats",
        ceilings=True,
    ),
    OutputKind(
        "compare",
        "Comparison tables (psychoalign compare)",
        _COMPARISON,
        _draw_comparison,
        ceilings=True,
    ),
    OutputKind(
        "evaluate",
        "Model run (psychoalign evaluate)",
        ("trials.csv", "probabilities.csv", "run.json"),
        _draw_evaluation,
    ),
    OutputKind(
        "clickmaps",
        "Click-map alignment (psychoalign clickmaps align)",
        ("clickmap_summary.csv", "clickmap_alignment.csv"),
        _draw_clickmaps,
    ),
    OutputKind(
        "metamers",
        "Metamer recognisability (psychoalign metamers recognisability)",
        ("metamer_recognisability.csv",),
        _draw_metamers,
    ),
    OutputKind(
        "published-metamers",
        "Published metamers (psychoalign metamers published)",
        ("recognisability.csv", "anova.csv"),
        _draw_published,
    ),
    OutputKind(
        "sweep",
        "Sweep units (psychoalign sweep)",
        ("sweep.json", "sweep_units.csv"),
        _draw_nothing,
        holds_outputs=True,
    ),
)


def find_outputs(root: Path) -> Iterator[tuple[OutputKind, Path]]:
    """Every output under ``root`` (``root`` included) with its kind, in path order.

    A folder recognised as an output is not searched further (the model runs inside a
    comparison are its inputs); hidden folders hold what is still being written, which
    is no output.
    """
    kind = next((kind for kind in OUTPUT_KINDS if kind.matches(root)), None)
    if kind is not None:
        yield kind, root
        if not kind.holds_outputs:
            return
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            yield from find_outputs(child)
