"""The scripts under ``analysis/``: ``--help`` answers without running anything."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "analysis" / "compare_humans_models.py"


def _script():
    spec = importlib.util.spec_from_file_location("compare_humans_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help_prints_the_options_and_writes_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: compare_humans_models.py")
    for option in ("--human-trials", "--stimulus-sets", "--models", "--out", "--n-boot"):
        assert option in result.stdout
    assert "(default: results/compare)" in result.stdout
    assert list(tmp_path.iterdir()) == []  # no results folder, nothing else


def test_options_default_to_the_settings_and_replace_them():
    script = _script()
    defaults = script.parse_arguments([])
    assert defaults.human_trials == script.SETTINGS["human_trials"]
    assert defaults.stimulus_sets == script.SETTINGS["stimulus_sets"]
    assert (defaults.models, defaults.out, defaults.n_boot) == (
        ["efficientnet_lite0"],
        Path("results/compare"),
        200,
    )
    given = script.parse_arguments(
        ["--models", "a", "b", "--out", "mine", "--n-boot", "5", "--human-trials", "t.csv"]
    )
    assert (given.models, given.out, given.n_boot, given.human_trials) == (
        ["a", "b"],
        Path("mine"),
        5,
        [Path("t.csv")],
    )
