"""The ``psychoalign`` application: its version, its commands, and ``python -m``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from psychoalign.cli import app

runner = CliRunner()


def test_console_script_reports_its_version():
    executable = Path(sys.executable).with_name("psychoalign")
    result = subprocess.run([str(executable), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("psychoalign ")


def test_help_lists_every_command_and_group_in_order():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    commands = ["compare", "demo", "report", "run", "evaluate"]
    groups = ["stimuli", "models", "clickmaps", "metamers", "datasets"]
    listed = [
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and line.split()[1] in commands + groups
    ]
    assert listed == commands + groups


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "psychoalign.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("psychoalign ")
