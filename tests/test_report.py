from __future__ import annotations

import re

import pandas as pd
import pytest

from psychoalign import plots
from psychoalign.datasets import load_model_vs_human
from psychoalign.metrics import accuracy, comparison_tables
from psychoalign.provenance import provenance, write_outputs
from psychoalign.report import build_report
from psychoalign.stats import psychometric_fit
from support import images_in_browser


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results folder from real human data: tables, statistics and three figures."""
    folder = tmp_path_factory.mktemp("results")
    trials = load_model_vs_human(["edge", "uniform-noise"])
    record = provenance([], {"seed": 3})
    tables = comparison_tables(trials, seed=3)
    write_outputs(tables, folder / "tables", record)
    write_outputs(
        {
            "psychometric_fits": psychometric_fit(
                trials.query("experiment == 'uniform-noise'"), n_boot=20
            )
        },
        folder / "stats",
        record,
        descriptions={"psychometric_fits": "Thresholds per observer."},
    )
    plots.accuracy_by_level(
        accuracy(trials), folder / "figures" / "accuracy", chance=1 / 16, record=record
    )
    plots.error_consistency_by_level(
        tables["error_consistency"], folder / "figures" / "kappa", record=record
    )
    plots.benchmark_table(tables["benchmark"], folder / "figures" / "benchmark", record=record)
    return folder


def test_the_report_is_one_self_contained_file(results, tmp_path):
    report = build_report(results, tmp_path / "report.html", title="Test report")
    text = report.read_text()
    for heading in ("Figures", "Noise ceilings", "Statistics", "Tables", "Provenance"):
        assert f"<h2 id='{heading.lower().replace(' ', '-')}'>{heading}</h2>" in text
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing outside the file
    assert "Thresholds per observer." in text and "human_human_kappa" in text
    assert '"seed"' in text or "seed</td>" in text


def test_every_figure_loads_in_a_real_browser(results, tmp_path):
    report = build_report(results, tmp_path / "report.html")
    images = images_in_browser(report)
    assert len(images) == 3
    for image in images:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image["alt"]
        assert image["shown"] > 100
    column, page = sorted(image["shown"] for image in images)[:2]
    assert column <= page


def test_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(FileNotFoundError, match="the results folder does not exist"):
        build_report(tmp_path / "nowhere", tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_report_command(results, tmp_path):
    from typer.testing import CliRunner

    from psychoalign.cli import app

    out = tmp_path / "cli.html"
    result = CliRunner().invoke(
        app, ["report", str(results), "--out", str(out), "--title", "From the CLI"]
    )
    assert result.exit_code == 0, result.output
    assert "<title>From the CLI</title>" in out.read_text()
    assert pd.read_csv(results / "tables" / "accuracy.csv").shape[0] > 0
