"""The metamer recognisability figure."""

from __future__ import annotations

import pandas as pd
import pytest

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


def _flagged_set(tmp_path):
    """Two real images as natural + one 'layer', the layer's metamer of dog1 failed."""
    from psychoalign.datasets import stimulus_set
    from psychoalign.stimuli import SetWriter

    source = stimulus_set("silhouette").subset(images=["cat1.png", "dog1.png"])
    with SetWriter(tmp_path / "flagged") as writer:
        for row in source.manifest.itertuples(index=False):
            data = (source.path / row.stimulus).read_bytes()
            for condition, valid in (("natural", "True"), ("layer1", str(row.image != "dog1.png"))):
                writer.add(
                    {
                        "stimulus": f"{condition}/{row.stimulus}",
                        "image": row.image,
                        "category": row.category,
                        "condition": condition,
                        "valid": valid,
                    },
                    data,
                )
        return writer.commit({"name": "flagged"})


def test_the_grid_marks_failed_metamers_and_needs_their_flags(tmp_path):
    from psychoalign.errors import ParameterError
    from psychoalign.plots.metamers import metamer_grid
    from psychoalign.stimuli import valid_metamers

    flagged = _flagged_set(tmp_path)
    with pytest.raises(ParameterError, match=r"^valid: the manifest flags failed metamers"):
        metamer_grid(flagged, tmp_path / "grid")
    table = metamer_grid(flagged, tmp_path / "grid", valid=valid_metamers(flagged.manifest))
    failed = table.loc[~table.valid, ["image", "condition"]].values.tolist()
    assert failed == [["dog1.png", "layer1"]]
