"""The figure of the published metamer recognisability: its table, and every interval drawn."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.io import loadmat

from psychoalign.plots.published_metamers import INTERVAL_GID, published_recognisability_plot
from support import SHARED_DATA

EXP1 = SHARED_DATA / "model-metamers" / "EXP1"
MODELS = ["alexnet", "cornet_s", "resnet101", "resnet50", "vgg_19"]
SVG = "{http://www.w3.org/2000/svg}"


def _published_table() -> pd.DataFrame:
    """Means and 95 % t intervals over participants, straight from the .mat files."""
    rows = []
    for model in MODELS:
        contents = loadmat(
            EXP1 / f"VisionExperiment1_network_vs_humans_datamatrix_{model}_public.mat"
        )
        matrix = contents["participant_data_matrix"]
        for j, layer in enumerate(str(name).strip() for name in contents["model_layers"]):
            for index, group in enumerate(("human", "model")):
                values = matrix[:, j, index]
                low, high = scipy_stats.t.interval(
                    0.95, len(values) - 1, loc=values.mean(), scale=scipy_stats.sem(values)
                )
                rows.append(("EXP1", model, layer, group, len(values), values.mean(), low, high))
    columns = ["experiment", "model", "layer", "observer_group", "n_participants"]
    return pd.DataFrame(rows, columns=[*columns, "accuracy", "ci_low", "ci_high"])


def _intervals(svg: str, model: str, group: str) -> list[float]:
    """Vertical lengths (SVG units) of the drawn intervals of one panel and group."""
    root = ElementTree.fromstring(svg)
    gid = INTERVAL_GID.format(model=model, observer_group=group)
    found = [element for element in root.iter(f"{SVG}g") if element.get("id") == gid]
    assert len(found) == 1, gid
    lengths = []
    for path in found[0].iter(f"{SVG}path"):
        if path.get("d") is None:  # matplotlib's trace of an interval it could not draw
            continue
        (x0, y0), (x1, y1) = [
            tuple(map(float, pair.split()))
            for pair in re.findall(r"[ML] ([\d.]+ [\d.]+)", path.get("d"))
        ]
        assert x0 == x1  # vertical bars
        lengths.append(abs(y1 - y0))
    return lengths


def test_the_figure_writes_the_table_it_draws(tmp_path):
    table = _published_table()
    written = published_recognisability_plot(table, tmp_path / "figure")
    for suffix in ("png", "pdf", "svg", "csv", "json"):
        assert (tmp_path / f"figure.{suffix}").stat().st_size > 0
    behind = pd.read_csv(tmp_path / "figure.csv")
    pd.testing.assert_frame_equal(behind, written, check_dtype=False)
    pd.testing.assert_frame_equal(behind.drop(columns="position"), table, check_dtype=False)
    first = behind[behind.model == "alexnet"].drop_duplicates("layer")
    assert first.position.tolist() == list(range(9)) and first.layer.iloc[0] == "natural_image"
    sidecar = json.loads((tmp_path / "figure.json").read_text())
    assert sidecar["title"] and sidecar["size_inches"][0] == 7.2
    sizes = re.findall(r"font-size: ([\d.]+)px", (tmp_path / "figure.svg").read_text())
    assert sizes and {float(size) for size in sizes} <= {6.0, 7.0}


def test_every_interval_is_drawn_at_its_width(tmp_path):
    table = _published_table()
    published_recognisability_plot(table, tmp_path / "figure")
    svg = (tmp_path / "figure.svg").read_text()
    for model in MODELS:
        widths, lengths = [], []
        for group in ("human", "model"):
            rows = table[(table.model == model) & (table.observer_group == group)]
            drawn = _intervals(svg, model, group)
            assert len(drawn) == len(rows)
            widths += (rows.ci_high - rows.ci_low).tolist()
            lengths += drawn
        # one y scale per panel: drawn length / interval width is the same for all of them
        scale = np.array(lengths) / np.array(widths)
        assert scale == pytest.approx(np.full(len(scale), scale.mean()), rel=1e-3)


def test_a_row_without_an_interval_shows_its_mean_and_nothing_else(tmp_path):
    table = _published_table()
    lone = table[(table.model == "cornet_s")].copy()
    lone.loc[lone.index[:2], ["ci_low", "ci_high"]] = np.nan  # natural images: no interval
    published_recognisability_plot(lone, tmp_path / "figure")
    svg = (tmp_path / "figure.svg").read_text()
    assert len(_intervals(svg, "cornet_s", "human")) == 5
    assert len(_intervals(svg, "cornet_s", "model")) == 5
    behind = pd.read_csv(tmp_path / "figure.csv")
    assert behind.ci_low.isna().sum() == 2 and behind.accuracy.notna().all()
