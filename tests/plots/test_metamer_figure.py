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


def test_the_grid_shows_each_image_with_its_conditions(tmp_path):
    from psychoalign.datasets import stimulus_set
    from psychoalign.plots.metamers import metamer_grid

    # the uniform-noise levels of a real set stand in for layers: the grid does not care
    source = stimulus_set("silhouette").subset(images=["cat1.png", "dog1.png"])
    from psychoalign.stimuli import make_stimulus_set

    noisy = make_stimulus_set(
        source, "uniform-noise", tmp_path / "set", levels=["0.00", "0.35", "0.60"], progress=False
    )
    table = metamer_grid(noisy, tmp_path / "grid", natural="0.00")
    assert table[["image", "condition"]].values.tolist() == [
        ["cat1.png", "0.00"],
        ["cat1.png", "0.35"],
        ["cat1.png", "0.60"],
        ["dog1.png", "0.00"],
        ["dog1.png", "0.35"],
        ["dog1.png", "0.60"],
    ]
    assert table.valid.all() and (tmp_path / "grid.png").is_file()
