"""``psychoalign compare``: the tables, their sidecars, and one-sentence refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.provenance import file_sha256
from psychoalign.trials import image_id
from support import HUMAN_RAW, raw_rows

runner = CliRunner()


def _model_run(folder: Path) -> Path:
    """A model-vs-human model file for `edge`: right on every image whose number is even."""
    rows = raw_rows(HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv")
    lines = ["subj,session,trial,rt,object_response,category,condition,imagename"]
    for trial, row in enumerate(rows, start=1):
        image = image_id(row["imagename"])
        number = int("".join(c for c in image if c.isdigit()))
        answer = row["category"] if number % 2 == 0 else "clock"
        lines.append(f"toynet,1,{trial},NaN,{answer},{row['category']},,{image}")
    path = folder / "edge_toynet_session_1.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compare_humans_and_a_model(tmp_path):
    model = _model_run(tmp_path)
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        [
            "compare",
            str(HUMAN_RAW / "edge"),
            str(model),
            "--out",
            str(out),
            "--preset",
            "model-vs-human",
        ],
    )
    assert result.exit_code == 0, result.output
    accuracy = pd.read_csv(out / "accuracy.csv", keep_default_na=False)
    assert accuracy.columns.tolist() == [
        "experiment",
        "condition",
        "observer",
        "observer_kind",
        "n_trials",
        "n_correct",
        "accuracy",
        "ci_low",
        "ci_high",
    ]
    assert len(accuracy) == 11
    kappa = pd.read_csv(out / "error_consistency.csv")
    assert kappa.columns.tolist() == [
        "experiment",
        "condition",
        "observer_1",
        "observer_2",
        "kind_1",
        "kind_2",
        "n_trials",
        "c_obs",
        "c_exp",
        "kappa",
    ]
    with_model = kappa[(kappa.kind_1 == "model") | (kappa.kind_2 == "model")]
    assert len(with_model) == 10 and (with_model.n_trials == 160).all()
    benchmark = pd.read_csv(out / "benchmark.csv")
    assert benchmark.columns.tolist() == [
        "observer",
        "observer_kind",
        "experiment",
        "accuracy",
        "accuracy_difference",
        "observed_consistency",
        "error_consistency",
        "n_datasets",
        "left_out",
    ]
    model_all = benchmark.query("observer == 'toynet' and experiment == 'all'").iloc[0]
    assert model_all.error_consistency == pytest.approx(with_model.kappa.mean())
    for name in ("image_accuracy", "behavioural_consistency"):
        assert (out / f"{name}.csv").is_file()
    sidecar = json.loads((out / "benchmark.json").read_text())
    inputs = {Path(entry["path"]).name: entry["sha256"] for entry in sidecar["inputs"]}
    assert inputs["edge_toynet_session_1.csv"] == file_sha256(model)
    assert len(inputs) == 11
    assert sidecar["parameters"]["preset"] == "model-vs-human"
    assert sidecar["versions"]["pandas"] == pd.__version__
    assert sidecar["columns"] == benchmark.columns.tolist()


def test_bad_input_gives_one_sentence_exit_2_and_no_output(tmp_path):
    broken = tmp_path / "edge_subject-01_session_1.csv"
    lines = (HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv").read_text().splitlines()
    lines[4] = lines[4].replace("subject-01,1,", "subject-01,x,", 1)
    broken.write_text("\n".join(lines) + "\n")
    out = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "psychoalign.cli", "compare", str(broken), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "row 5: column 'session' has 'x', not a whole number" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_preset_is_refused(tmp_path):
    result = runner.invoke(
        app,
        [
            "compare",
            str(HUMAN_RAW / "edge"),
            "--out",
            str(tmp_path / "o"),
            "--preset",
            "brainscore",
        ],
    )
    assert result.exit_code == 2
    assert "--preset: 'brainscore' is not one of model-vs-human" in result.output


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_rerun_into_the_same_folder_is_refused_naming_overwrite(tmp_path):
    out = tmp_path / "results"
    first = runner.invoke(app, ["compare", str(HUMAN_RAW / "edge"), "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = _files(out)
    again = runner.invoke(app, ["compare", str(HUMAN_RAW / "silhouette"), "--out", str(out)])
    assert again.exit_code == 2
    assert f"{out}: already exists and is not empty; choose another --out or pass --overwrite" in (
        " ".join(again.output.split())
    )
    assert _files(out) == before


def test_overwrite_replaces_the_folder_whole_leaving_no_stale_table(tmp_path):
    out = tmp_path / "results"
    first = runner.invoke(app, ["compare", str(HUMAN_RAW / "cue-conflict"), "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert (out / "shape_bias.csv").is_file()
    (out / "notes.txt").write_text("mine\n")
    second = runner.invoke(
        app, ["compare", str(HUMAN_RAW / "edge"), "--out", str(out), "--overwrite"]
    )
    assert second.exit_code == 0, second.output
    assert sorted(path.name for path in out.iterdir()) == [
        f"{name}.{kind}"
        for name in ("accuracy", "benchmark", "error_consistency")
        for kind in ("csv", "json")
    ]
    assert set(pd.read_csv(out / "accuracy.csv")["experiment"]) == {"edge"}
    assert [path.name for path in tmp_path.iterdir()] == ["results"]  # no temporaries left


def test_an_empty_folder_needs_no_overwrite(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    result = runner.invoke(app, ["compare", str(HUMAN_RAW / "edge"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "benchmark.csv").is_file()
