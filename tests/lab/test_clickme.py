"""The ClickMe task: both simulated clickers, and clicks stored in image pixel coordinates."""

from __future__ import annotations

import json
import subprocess
import time

import pandas as pd
import pytest
from lab_support import lab_command, lab_env

from psychoalign.trials import read_trials

FAST = "practice_trials: 0\nclick_budget: {budget}\nsimulation: {{rt_ms: [80, 160]}}\n"


@pytest.mark.parametrize("simulate", ["random", "model:efficientnet_lite0"])
def test_clickme_runs_with_a_simulated_clicker(simulate, run_lab, tmp_path):
    config = tmp_path / "fast.yaml"
    config.write_text(FAST.format(budget=4))
    result = run_lab(
        "clickme",
        *("--participant", "04", "--simulate", simulate, "--trials", "3"),
        *("--data-dir", str(tmp_path), "--config", str(config)),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    trials = read_trials(tmp_path / "clickme")
    assert len(trials) == 3
    raw = next((tmp_path / "clickme").glob("sub-04_*[0-9].csv"))
    rows = pd.read_csv(raw)
    for row in rows.itertuples():
        clicks = json.loads(row.clicks)
        assert len(clicks) == row.n_clicks and 1 <= row.n_clicks <= 4
        assert all(
            0 <= c["row"] < row.image_height and 0 <= c["col"] < row.image_width for c in clicks
        )
        assert [c["t"] for c in clicks] == sorted(c["t"] for c in clicks)
        assert row.recognised == (clicks[-1]["model_response"] == row.category)
        assert row.points == (4 - row.n_clicks + 1 if row.recognised else 0)
        assert row.response == clicks[-1]["model_response"]
        if not row.recognised:  # the budget was spent: every click was counted
            assert row.n_clicks == 4
    assert rows.score.tolist() == rows.points.cumsum().tolist()


def test_clicks_are_stored_as_the_image_pixels_under_them(xvfb, cache, tmp_path):
    import os

    os.environ["DISPLAY"] = xvfb
    from psychoalign.lab.simulate import _XInput

    config = tmp_path / "fast.yaml"
    config.write_text(FAST.format(budget=4))
    screens = tmp_path / "screens"
    process = subprocess.Popen(
        lab_command(
            "clickme",
            *("--participant", "05", "--trials", "1", "--data-dir", str(tmp_path)),
            *("--config", str(config), "--screenshots", str(screens)),
        ),
        env=lab_env(xvfb, cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    x_input = _XInput()
    deadline = time.monotonic() + 180
    while not (screens / "stimulus.png").exists():  # leave the instructions with space
        assert time.monotonic() < deadline and process.poll() is None
        x_input.press("space")
        time.sleep(0.3)
    [sidecar] = (tmp_path / "clickme").glob("*.json")
    screen = json.loads(sidecar.read_text())["screen"]
    left, top = screen["window_position_px"]
    width, height = screen["size_px"]
    # The 224 px image is drawn at twice its size in the middle of the window, so image
    # pixel (r, c) covers screen pixels left + w/2 - 224 + 2c (+1), top + h/2 - 224 + 2r (+1).
    targets = [(0, 0), (223, 223), (10, 200), (150, 37)]
    for row, col in targets:
        x_input.click(left + width // 2 - 224 + 2 * col, top + height // 2 - 224 + 2 * row)
        time.sleep(0.4)
    while process.poll() is None and time.monotonic() < deadline:  # the goodbye page
        x_input.press("space")
        time.sleep(0.3)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors[-2000:]
    [row] = read_trials(tmp_path / "clickme").itertuples()
    stored = json.loads(pd.read_csv(next((tmp_path / "clickme").glob("*[0-9].csv"))).clicks[0])
    assert [(c["row"], c["col"]) for c in stored] == targets[: len(stored)]
    assert len(stored) == 4 or stored[-1]["model_response"] == row.category


def test_sessions_build_human_maps_that_models_are_aligned_with(run_lab, tmp_path):
    """Two simulated participants -> `clickmaps build` -> `clickmaps align`, end to end."""
    from typer.testing import CliRunner

    from psychoalign.cli import app
    from psychoalign.datasets import stimulus_set
    from psychoalign.metrics.clickmaps import ClickMaps

    four = stimulus_set("silhouette").subset(
        images=["cat1.png", "cat2.png", "dog1.png", "dog2.png"]
    )
    four = four.write(tmp_path / "four")
    config = tmp_path / "fast.yaml"
    config.write_text(FAST.format(budget=5))
    for participant, simulate in (("01", "random"), ("02", "model:efficientnet_lite0")):
        result = run_lab(
            "clickme",
            *("--participant", participant, "--simulate", simulate, "--stimuli", str(four.path)),
            *("--data-dir", str(tmp_path / "data"), "--config", str(config)),
        )
        assert result.returncode == 0, result.stderr[-2000:]
    runner = CliRunner()
    maps_file = tmp_path / "maps.npz"
    built = runner.invoke(
        app, ["clickmaps", "build", str(tmp_path / "data" / "clickme"), "--out", str(maps_file)]
    )
    assert built.exit_code == 0, built.output
    maps = ClickMaps.load(maps_file)
    assert sorted(maps.images) == ["cat1.png", "cat2.png", "dog1.png", "dog2.png"]
    assert maps.maps.shape == (4, 224, 224)
    assert (maps.summary()["n_participants"] == 2).all()
    sidecar = json.loads(maps_file.with_suffix(".json").read_text())
    assert sidecar["stimulus_set"]["checksum"] == four.checksum

    out = tmp_path / "aligned"
    aligned = runner.invoke(
        app,
        [
            *("clickmaps", "align", str(maps_file), "--method", "saliency"),
            *("--method", "smoothgrad", "--n-splits", "5", "--out", str(out)),
        ],
    )
    assert aligned.exit_code == 0, aligned.output
    summary = pd.read_csv(out / "clickmap_summary.csv")
    assert sorted(summary.method) == ["saliency", "smoothgrad"] and (summary.n_images == 4).all()
    assert summary.spearman.between(-1, 1).all()
    per_image = pd.read_csv(out / "clickmap_alignment.csv")
    assert len(per_image) == 8 and per_image.dice.between(0, 1).all()
    for figure in ("clickmap_grid", "clickmap_scores"):
        for suffix in (".png", ".pdf", ".svg", ".csv", ".json"):
            assert (out / f"{figure}{suffix}").is_file()
    assert json.loads((out / "clickmap_summary.json").read_text())["parameters"]["seed"] == 0
