"""The report recognises the output of every psychoalign command and draws its figures.

Each output is made by the workflow itself on a tiny real input (two categories of the
bundled edge set, four silhouettes, one layer's metamers), once per module.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.datasets import stimulus_set
from psychoalign.errors import ReportError
from psychoalign.report import OUTPUT_KINDS, build_report, find_outputs
from psychoalign.trials import write_trials
from psychoalign.workflows import evaluate
from psychoalign.workflows.clickmaps import align_clickmaps, build_clickmaps
from psychoalign.workflows.compare import compare_files
from psychoalign.workflows.metamers import make_metamer_set, metamer_recognisability_analysis
from support import HUMAN_RAW, clickme_trials


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, lite0):
    """``evaluate`` of EfficientNet-Lite0 on two edge categories and ``compare`` of it with
    the edge humans, as the commands write them."""
    folder = tmp_path_factory.mktemp("outputs")
    edge = stimulus_set("edge").subset(categories=["bear", "bird"])
    edge = edge.write(folder / "sets" / "edge", name="edge")
    evaluate([lite0], [edge], folder / "models", progress=False)
    compare_files([HUMAN_RAW / "edge", folder / "models"], folder / "edge")
    return folder


def _figures(report) -> list[str]:
    return re.findall(r'<figure><img alt="([^"]*)"', report.read_text())


def test_a_compare_output_has_its_figures_drawn_and_its_tables(outputs, tmp_path):
    report = build_report(outputs / "edge", tmp_path / "report.html")
    assert _figures(report) == [
        "Accuracy by condition",
        "Benchmark table",
        "Model–human consistency with noise ceilings",
        "Error consistency by condition",
    ]
    text = report.read_text()
    for table in ("accuracy", "benchmark", "error consistency", "behavioural consistency"):
        assert f"<h4>{table}</h4>" in text
    assert "human_human_kappa" in text and "No tables in this folder" not in text
    assert not list((outputs / "edge").glob("*.png"))  # drawn for the report only


def test_an_evaluate_output_shows_each_model_run(outputs, tmp_path):
    report = build_report(outputs / "models", tmp_path / "report.html")
    assert _figures(report) == ["Accuracy by condition"]
    text = report.read_text()
    assert "Model run (psychoalign evaluate): <code>edge/efficientnet_lite0</code>" in text
    assert "<h4>trials</h4>" in text and "efficientnet_lite0" in text


def test_a_folder_of_outputs_shows_them_all(outputs):
    found = [
        (kind.name, folder.relative_to(outputs).as_posix())
        for kind, folder in find_outputs(outputs)
    ]
    assert found == [("compare", "edge"), ("evaluate", "models/edge/efficientnet_lite0")]


def test_a_clickmap_alignment_output_has_its_figures_and_tables(tmp_path, lite0):
    images = ["bear1.png", "bird2.png"]
    two = stimulus_set("silhouette").subset(images=images).write(tmp_path / "two")
    frame = two.frame()
    rng = np.random.default_rng(0)
    for observer in ("01", "02", "03"):
        clicks = [
            json.dumps(
                [{"row": int(r), "col": int(c), "t": 0.5} for r, c in rng.integers(40, 184, (4, 2))]
            )
            for _ in range(len(frame))
        ]
        path = write_trials(
            clickme_trials(frame, observer, clicks), tmp_path / "clickme" / f"{observer}.csv"
        )
        record = {"stimulus_set": {"path": str(two.path), "checksum": two.checksum}}
        path.with_suffix(".json").write_text(json.dumps(record))
    build_clickmaps([tmp_path / "clickme"], tmp_path / "maps.npz")
    align_clickmaps(
        tmp_path / "maps.npz",
        ["efficientnet_lite0"],
        tmp_path / "aligned",
        n_splits=2,
        images_in_figure=1,
    )
    report = build_report(tmp_path / "aligned", tmp_path / "report.html")
    assert len(_figures(report)) == 2
    assert "<h4>clickmap summary</h4>" in report.read_text()


def test_a_metamer_recognisability_output_has_its_figure_and_table(tmp_path, lite0):
    source = stimulus_set("edge").subset(categories=["bear", "clock", "knife"])
    metamers, _, _ = make_metamer_set(
        source,
        lite0,
        ["_blocks.0"],
        tmp_path / "metamers",
        images=3,
        rounds=1,
        steps_per_round=2,
        null_pairs=5,
        progress=False,
    )
    evaluate([lite0], [metamers], tmp_path / "models", progress=False)
    metamer_recognisability_analysis(tmp_path / "models", metamers, tmp_path / "results", n_boot=5)
    (tmp_path / "results" / "metamer_recognisability_figure.png").unlink()  # drawn anew
    report = build_report(tmp_path / "results", tmp_path / "report.html")
    assert len(_figures(report)) == 1
    assert "Metamer recognisability (psychoalign metamers recognisability)" in report.read_text()


def test_a_folder_psychoalign_did_not_write_is_refused_with_exit_2(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    (tmp_path / ".staging").mkdir()
    for name in ("accuracy.csv", "error_consistency.csv", "benchmark.csv"):  # being written
        (tmp_path / ".staging" / name).write_text("a\n1\n")
    with pytest.raises(ReportError, match=r"holds nothing psychoalign wrote; report looks for"):
        build_report(tmp_path, tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "holds nothing psychoalign wrote" in result.output


def test_every_kind_is_marked_by_files():
    assert len({kind.name for kind in OUTPUT_KINDS}) == len(OUTPUT_KINDS)
    assert all(kind.marks for kind in OUTPUT_KINDS)
