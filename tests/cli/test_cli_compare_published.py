"""``psychoalign compare`` on the field's own files, as a new user points it at them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from support import HUMAN_RAW, SHARED_DATA, raw_rows

runner = CliRunner()
MODEL_RAW = SHARED_DATA / "model-vs-human" / "model-raw"
GENERALISATION = SHARED_DATA / "generalisation-humans-dnns"


def test_model_vs_human_model_files_compare_with_the_humans(tmp_path):
    out = tmp_path / "edge"
    result = runner.invoke(
        app,
        ["compare", str(HUMAN_RAW / "edge"), str(MODEL_RAW / "edge"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("note: ") == 9  # one per model file with NaN conditions
    benchmark = pd.read_csv(out / "benchmark.csv", keep_default_na=False, na_values=[""])
    models = benchmark[(benchmark.observer_kind == "model") & (benchmark.experiment == "edge")]
    assert len(models) == 9 and models.error_consistency.notna().all()
    overall = benchmark[benchmark.experiment == "all"]
    assert (overall.n_datasets == 1).all()
    sidecar = json.loads((out / "benchmark.json").read_text())
    assert len(sidecar["parameters"]["read_notes"]) == 9


def test_the_2018_cnns_are_scored_by_the_summed_decision(tmp_path):
    cnn = GENERALISATION / "cnn-raw" / "noise-experiment"
    humans = GENERALISATION / "human-raw" / "noise-experiment"
    out = tmp_path / "noise"
    arguments = ["compare", str(humans), str(cnn), "--out", str(out)]
    result = runner.invoke(app, [*arguments, "--response-column", "object_response_sums"])
    assert result.exit_code == 0, result.output
    # The human files have one decision: they keep it, and each is noted.
    assert " ".join(result.output.split()).count("has no column 'object_response_sums'") == 5
    accuracy = pd.read_csv(out / "accuracy.csv", dtype={"condition": str})
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for path in [*sorted(cnn.glob("*.csv")), *sorted(humans.glob("*.csv"))]:
        for row in raw_rows(path):
            key = (row["subj"], row["condition"])
            decision = row.get("object_response_sums", row["object_response"])
            counts[key][0] += decision == row["category"]
            counts[key][1] += 1
    measured = accuracy.set_index(["observer", "condition"]).accuracy.to_dict()
    assert measured == pytest.approx({k: right / n for k, (right, n) in counts.items()})


def test_a_session_mismatch_is_printed_and_recorded(tmp_path):
    folder = GENERALISATION / "human-raw" / "colour-experiment"
    out = tmp_path / "colour"
    result = runner.invoke(app, ["compare", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "the file name says session 1 but its session column says 3" in " ".join(
        result.output.split()
    )
    sidecar = json.loads((out / "accuracy.json").read_text())
    assert sidecar["parameters"]["read_notes"][0].endswith("the column's session is used.")


def test_shape_bias_of_an_experiment_with_any_name(tmp_path):
    raw = SHARED_DATA / "texture-vs-shape" / "raw-data"
    out = tmp_path / "texture-vs-shape"
    result = runner.invoke(app, ["compare", str(raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    bias = pd.read_csv(out / "shape_bias.csv").set_index("observer")
    assert bias.experiment.unique().tolist() == ["style-transfer-512-nomask-experiment"]
    assert round(bias.loc["alexnet", "shape_bias"], 3) == 0.429
    assert len(bias) == 13


def test_a_declared_cue_conflict_experiment_that_is_absent_is_refused(tmp_path):
    result = runner.invoke(
        app,
        [
            "compare",
            str(HUMAN_RAW / "edge"),
            "--out",
            str(tmp_path / "out"),
            "--cue-conflict",
            "cue-conflict",
        ],
    )
    assert result.exit_code == 2
    assert "experiment 'cue-conflict' is not in the trials (they have edge)" in result.output
    assert not (tmp_path / "out").exists()


def test_the_readmes_builder_output_compares_through_its_mapping(tmp_path):
    root = Path(__file__).resolve().parents[1] / "data"
    out = tmp_path / "builder"
    mapping = root / "psychopy-builder" / "keyboard.yaml"
    sample = root / "psychopy-builder-output"
    result = runner.invoke(
        app, ["compare", str(sample), "--columns", str(mapping), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    accuracy = pd.read_csv(out / "accuracy.csv").iloc[0]
    # The run answered f, j, j, f to cat, dog, cat, dog images (f = cat): 2 of 4 right.
    assert (accuracy.observer, accuracy.n_trials, accuracy.n_correct) == ("p01", 4, 2)
    assert accuracy.experiment == "edge_keys"
