"""The metamer recognisability figure."""

from __future__ import annotations

import pandas as pd

from psychoalign.metrics.metamers import metamer_recognisability
from support import metamer_trials


def test_the_recognisability_figure_writes_its_table(tmp_path):
    from psychoalign.plots.metamers import metamer_recognisability_plot

    table = metamer_recognisability(metamer_trials(), n_boot=100)
    written = metamer_recognisability_plot(table, tmp_path / "metamers")
    for suffix in (".png", ".pdf", ".svg", ".csv", ".json"):
        assert (tmp_path / f"metamers{suffix}").is_file()
    pd.testing.assert_frame_equal(written, table)
