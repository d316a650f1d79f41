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


def test_console_script_reports_its_version():
    executable = Path(sys.executable).with_name("psychoalign")
    result = subprocess.run([str(executable), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("psychoalign ")


# --- psychoalign stimuli ---------------------------------------------------------------


def test_stimuli_make_verify_show(tmp_path):
    out = tmp_path / "noise"
    result = runner.invoke(
        app,
        [
            "stimuli",
            "make",
            "edge",
            "--manipulation",
            "uniform-noise",
            "--levels",
            "0,0.1,0.35",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "480 stimuli, 3 conditions" in result.output
    made = pd.read_csv(out / "manifest.csv", dtype=str)
    assert made.condition.unique().tolist() == ["0", "0.1", "0.35"]
    result = runner.invoke(app, ["stimuli", "verify", str(out)])
    assert result.exit_code == 0 and "all 480 stimuli intact" in result.output
    result = runner.invoke(app, ["stimuli", "show", str(out), "--out", str(tmp_path / "grid.png")])
    assert result.exit_code == 0 and "8 images x 3 conditions" in result.output
    assert (tmp_path / "grid.png").is_file() and (tmp_path / "grid.csv").is_file()


def test_stimuli_verify_lists_every_bad_file(tmp_path):
    out = tmp_path / "rot"
    assert (
        runner.invoke(
            app, ["stimuli", "make", "silhouette", "--manipulation", "rotation", "--out", str(out)]
        ).exit_code
        == 0
    )
    (out / "90" / "cat" / "cat1.png").unlink()
    (out / "180" / "dog" / "dog2.png").write_bytes(b"tampered")
    result = runner.invoke(app, ["stimuli", "verify", str(out)])
    assert result.exit_code == 1
    lines = [
        line for line in result.output.splitlines() if line.endswith("missing") or "altered" in line
    ]
    assert len(lines) == 2
    assert "2 of 640 stimuli are bad" in result.output


def test_stimuli_make_refuses_bad_levels_with_one_sentence(tmp_path):
    result = runner.invoke(
        app,
        [
            "stimuli",
            "make",
            "edge",
            "--manipulation",
            "contrast",
            "--levels",
            "c50,2",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert result.exit_code == 2
    assert "levels: '2' is not a valid level of contrast" in result.output
    assert not (tmp_path / "c").exists()
    result = runner.invoke(
        app,
        ["stimuli", "make", "nowhere", "--manipulation", "contrast", "--out", str(tmp_path / "c")],
    )
    assert result.exit_code == 2 and "nowhere: is neither a stimulus set" in result.output


def test_stimuli_manipulations_lists_every_degradation():
    result = runner.invoke(app, ["stimuli", "manipulations"])
    assert result.exit_code == 0
    for name in ("uniform-noise", "phase-scrambling", "power-equalisation", "false-colour"):
        assert name in result.output


# --- psychoalign evaluate and models ------------------------------------------------------


def test_evaluate_then_compare_with_the_human_data(tmp_path):
    sets = tmp_path / "sets"
    from psychoalign.datasets import stimulus_set

    stimulus_set("silhouette").subset(categories=["car", "cat"]).write(
        sets / "silhouette", name="silhouette"
    )
    out = tmp_path / "runs"
    args = [
        "evaluate",
        "--model",
        "efficientnet_lite0",
        "--stimuli",
        str(sets / "silhouette"),
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "efficientnet_lite0" in result.output and "ran" in result.output
    assert (out / "silhouette" / "efficientnet_lite0" / "trials.csv").is_file()
    assert "skipped" in runner.invoke(app, args).output
    humans = tmp_path / "humans"
    humans.mkdir()
    for source in sorted((HUMAN_RAW / "silhouette").glob("*.csv")):
        rows = [r for r in raw_rows(source) if r["category"] in ("car", "cat")]
        lines = ["subj,session,trial,rt,object_response,category,condition,imagename"] + [
            ",".join(
                r[c]
                for c in (
                    "subj",
                    "session",
                    "trial",
                    "rt",
                    "object_response",
                    "category",
                    "condition",
                    "imagename",
                )
            )
            for r in rows
        ]
        (humans / source.name).write_text("\n".join(lines) + "\n")
    compared = tmp_path / "compared"
    result = runner.invoke(app, ["compare", str(humans), str(out), "--out", str(compared)])
    assert result.exit_code == 0, result.output
    kappa = pd.read_csv(compared / "error_consistency.csv")
    model_pairs = kappa[(kappa.kind_1 == "model") | (kappa.kind_2 == "model")]
    assert len(model_pairs) == 10 and (model_pairs.n_trials == 20).all()


def test_evaluate_without_cached_weights_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            "alexnet",
            "--stimuli",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "is not a stimulus set" in result.output
    from psychoalign.datasets import stimulus_set

    edge = stimulus_set("edge").subset(categories=["car"]).write(tmp_path / "edge")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            "alexnet",
            "--stimuli",
            str(edge.path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "alexnet: its weights file" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_models_layers_lists_names():
    result = runner.invoke(app, ["models", "layers", "efficientnet_lite0"])
    assert result.exit_code == 0 and "_blocks.3\n" in result.output
