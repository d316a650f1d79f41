"""`make demo` end to end: real model, stimuli and human data, and the report in a browser."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
import torch

from psychoalign.workflows.demo import run_demo, summary_table
from support import images_in_browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    # The demo is the longest test; it gets both cores as `make demo` does, even under
    # xdist where the model tests' conftest limits each worker to one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            # An empty cache: the demo as on a fresh machine, without cue-conflict stimuli.
            patch.setenv("PSYCHOALIGN_CACHE", str(tmp_path_factory.mktemp("cache")))
            yield run_demo(tmp_path_factory.mktemp("demo") / "results", progress=False)
    finally:
        torch.set_num_threads(threads)


def test_the_demo_says_how_to_fetch_the_cue_conflict_stimuli(demo):
    assert len(demo.notes) == 1
    assert "`psychoalign datasets fetch cue-conflict` downloads them" in demo.notes[0]


def test_the_demo_compares_the_model_with_the_humans(demo):
    table = summary_table(demo).set_index("experiment")
    assert set(table.index) == {
        "edge",
        "silhouette",
        "edge-uniform-noise",
        "silhouette-uniform-noise",
    }
    assert table.loc["edge", "model_accuracy"] == pytest.approx(0.356, abs=1e-3)
    assert table.loc["silhouette", "model_accuracy"] == pytest.approx(0.519, abs=1e-3)
    assert table.loc["edge", "human_human_kappa"] == pytest.approx(0.318, abs=1e-3)
    kappa = demo.tables["error_consistency"]
    with_model = kappa[(kappa.kind_1 == "model") | (kappa.kind_2 == "model")]
    assert with_model.groupby("experiment").size().to_dict() == {"edge": 10, "silhouette": 10}


def test_the_demo_fits_the_statistics(demo):
    fits = demo.statistics["psychometric_fits"]
    assert set(fits.observer_kind) == {"human", "model"} and len(fits) == 6
    assert fits.ci_low.le(fits.threshold).all() and fits.threshold.le(fits.ci_high).all()
    mixed = demo.statistics["mixed_model"]
    assert {"level", "kind[T.model]", "level:kind[T.model]"} <= set(mixed.term)


def test_the_demo_writes_every_output_with_provenance(demo):
    out = demo.out
    for name in (
        "accuracy",
        "error_consistency",
        "benchmark",
        "behavioural_consistency",
        "image_accuracy",
        "shape_bias",
    ):
        assert (out / "tables" / f"{name}.csv").is_file(), name
        sidecar = json.loads((out / "tables" / f"{name}.json").read_text())
        assert sidecar["parameters"]["seed"] == 0 and sidecar["versions"]["psychoalign"]
        assert len(sidecar["inputs"]) == 34 + 4  # 34 human files, 4 model runs
    for stimuli in ("edge-uniform-noise", "silhouette-uniform-noise"):
        info = json.loads((out / "stimuli" / stimuli / "stimulus_set.json").read_text())
        assert info["seed"] == 0 and info["n_stimuli"] == 1280
    assert len(demo.figures) >= 9 and all(f.is_file() for f in demo.figures)
    curves = pd.read_csv(out / "figures" / "accuracy_by_level.csv")
    assert set(curves.series) == {
        "humans",
        "efficientnet_lite0 (edge-uniform-noise)",
        "efficientnet_lite0 (silhouette-uniform-noise)",
    }


def test_the_demo_report_opens_with_every_figure(demo):
    images = images_in_browser(demo.report)
    assert len(images) == len(demo.figures)
    assert all(image["complete"] and image["width"] > 0 for image in images)
    assert "EfficientNet-Lite0" in demo.report.read_text()


def test_the_demo_command_reuses_cached_model_runs_and_prints_the_table(demo):
    from typer.testing import CliRunner

    from psychoalign.cli import app

    result = CliRunner().invoke(app, ["demo", "--out", str(demo.out)])
    assert result.exit_code == 0, result.output
    edge = next(line for line in result.output.splitlines() if " edge " in line)
    assert "0.356" in edge and "0.103" in edge and "0.318" in edge
    assert "report.html" in result.output
    runs = [json.loads(p.read_text()) for p in demo.out.glob("models/*/*/run.json")]
    assert len(runs) == 4


def test_the_old_demo_path_warns_and_gives_the_same_objects():
    import psychoalign.demo as old
    import psychoalign.workflows.demo as new

    for name in ("run_demo", "summary_table", "DEMO_SEED"):
        with pytest.warns(DeprecationWarning, match=f"psychoalign.workflows.demo.{name}"):
            assert getattr(old, name) is getattr(new, name)
