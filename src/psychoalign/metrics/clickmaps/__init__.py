"""ClickMe maps: human feature-importance maps from clicks, and their alignment with models.

Participants click the image parts that matter for recognition (Linsley et al. 2019);
the clicks of all participants become a blurred map per image, and a model's map is
compared with it by Spearman's rho over pixels, relative to a human ceiling measured
on the data at hand (Fel et al. 2022).

Modules: :mod:`~psychoalign.metrics.clickmaps.clicks` (the ``clicks`` column of trial
tables, one row per click), :mod:`~psychoalign.metrics.clickmaps.maps` (the maps, the
disc blur), :mod:`~psychoalign.metrics.clickmaps.alignment` (rho, Dice and IoU, ceiling
and floor, summaries) and ``_ranking`` (the ranking kernel of Spearman's rho).
"""

from psychoalign.metrics.clickmaps.alignment import (
    alignment,
    alignment_summary,
    spearman_maps,
    top_fraction_overlap,
)

# CLICK_COLUMNS stays at this path (re-exported, not in __all__ as before).
from psychoalign.metrics.clickmaps.clicks import CLICK_COLUMNS as CLICK_COLUMNS
from psychoalign.metrics.clickmaps.clicks import click_table
from psychoalign.metrics.clickmaps.maps import ClickMaps, build_maps, disc_kernel

__all__ = [
    "ClickMaps",
    "alignment",
    "alignment_summary",
    "build_maps",
    "click_table",
    "disc_kernel",
    "spearman_maps",
    "top_fraction_overlap",
]
