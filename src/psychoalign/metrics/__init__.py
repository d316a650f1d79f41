"""Human-model comparison metrics; every function takes and returns a tidy DataFrame.

The analysis side: imports only :mod:`psychoalign.trials`, numpy, scipy and pandas.
"""

from psychoalign.metrics.accuracy import accuracy
from psychoalign.metrics.benchmark import (
    BENCHMARK_COLUMNS,
    MODEL_VS_HUMAN_EXCLUDED_CONDITIONS,
    benchmark,
    check_shared_stimuli,
)
from psychoalign.metrics.clickmaps import (
    ClickMaps,
    alignment,
    alignment_summary,
    build_maps,
    click_table,
    disc_kernel,
    spearman_maps,
    top_fraction_overlap,
)
from psychoalign.metrics.error_consistency import error_consistency, kappa_from_counts
from psychoalign.metrics.image_level import image_accuracy_correlation
from psychoalign.metrics.metamers import metamer_recognisability
from psychoalign.metrics.rajalingham import (
    BEHAVIOURAL_METRICS,
    behavioural_consistency,
    behavioural_signature,
)
from psychoalign.metrics.shape_bias import (
    cue_conflict_categories,
    cue_conflict_experiments,
    shape_bias,
)
from psychoalign.metrics.suite import PRESETS, comparison_tables

__all__ = [
    "BEHAVIOURAL_METRICS",
    "BENCHMARK_COLUMNS",
    "MODEL_VS_HUMAN_EXCLUDED_CONDITIONS",
    "PRESETS",
    "ClickMaps",
    "accuracy",
    "alignment",
    "alignment_summary",
    "behavioural_consistency",
    "behavioural_signature",
    "benchmark",
    "build_maps",
    "check_shared_stimuli",
    "click_table",
    "comparison_tables",
    "cue_conflict_categories",
    "cue_conflict_experiments",
    "disc_kernel",
    "error_consistency",
    "image_accuracy_correlation",
    "kappa_from_counts",
    "metamer_recognisability",
    "shape_bias",
    "spearman_maps",
    "top_fraction_overlap",
]
