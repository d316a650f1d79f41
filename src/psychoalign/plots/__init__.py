"""Publication figures: each writes PNG, PDF and SVG, the CSV behind it and a JSON sidecar.

Colour-blind-safe (Okabe & Ito) colours, humans always in vermillion, sized for a journal
column (3.5 in) or page (7.2 in). Imports ``metrics`` and ``trials``, never ``lab``.
"""

from psychoalign.plots.alignment import consistency_bars, consistency_vs_accuracy
from psychoalign.plots.clickmaps import clickmap_grid, clickmap_scores
from psychoalign.plots.curves import accuracy_by_level, error_consistency_by_level
from psychoalign.plots.metamers import metamer_grid, metamer_recognisability_plot
from psychoalign.plots.published_metamers import published_recognisability_plot
from psychoalign.plots.tables import benchmark_table, confusion_matrices, shape_bias_by_category

__all__ = [
    "accuracy_by_level",
    "benchmark_table",
    "clickmap_grid",
    "clickmap_scores",
    "confusion_matrices",
    "consistency_bars",
    "consistency_vs_accuracy",
    "error_consistency_by_level",
    "metamer_grid",
    "metamer_recognisability_plot",
    "published_recognisability_plot",
    "shape_bias_by_category",
]
