"""``psychoalign stimuli``: make, verify, show and list the degradations."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from psychoalign.cli import app

runner = CliRunner()


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


def test_stimuli_make_refuses_numerically_equal_levels(tmp_path):
    for manipulation, levels, first, second in [
        ("uniform-noise", "0,0.1,0.10", "0.1", "0.10"),
        ("contrast", "c10,0.1", "c10", "0.1"),
    ]:
        result = runner.invoke(
            app,
            [
                *("stimuli", "make", "edge", "--manipulation", manipulation),
                *("--levels", levels, "--out", str(tmp_path / "set")),
            ],
        )
        assert result.exit_code == 2
        assert (
            f"levels: '{first}' and '{second}' are the same level of {manipulation} (0.1); "
            "give each level once in --levels."
        ) in " ".join(result.output.split())
        assert not (tmp_path / "set").exists()


def test_the_stimuli_commands_import_the_stimuli_only_when_they_run():
    """``psychoalign --help`` loads this module: it must not load numpy's heavy neighbours."""
    code = (
        "import sys, psychoalign.cli.stimuli; "
        "print(sorted(m for m in ('psychoalign.stimuli', 'pandas', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
