"""The wheel: built from the checkout, installed alone with the core dependencies.

The wheel is built from a copy of the checkout (a build in place would reuse a ``build/``
folder that may still hold modules since moved), installed into a fresh virtual
environment with only the core dependencies (no torch, no PsychoPy), and run from another
folder on the data it installed. Needs PyPI (or the configured index) for the build
backend and the core dependencies; pip's cache makes repeats fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Never part of a fresh clone (see .gitignore): environments, caches, build outputs.
_NOT_IN_A_CLONE = {
    ".git",
    ".venv",
    "build",
    "dist",
    "results",
    "out",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}
_BUNDLED_DATA = ("README.md", "model-vs-human", "stimulus-sets", "response-screen-icons")


def _run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PSYCHOALIGN_DATA_DIR", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _clone_like(source: Path, target: Path) -> None:
    def ignored(folder: str, names: list[str]) -> set[str]:
        return {name for name in names if name in _NOT_IN_A_CLONE or name.endswith(".egg-info")}

    shutil.copytree(source, target, ignore=ignored)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    _clone_like(ROOT, work / "checkout")
    # A path, not a bare name: pip would read "checkout" as a project on the index.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            "dist",
            work / "checkout",
        ],
        cwd=work,
    )
    (built,) = (work / "dist").glob("psychoalign-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel and the core dependencies only."""
    environment = tmp_path_factory.mktemp("environment") / "venv"
    _run([sys.executable, "-m", "venv", environment], cwd=environment.parent)
    python = environment / "bin" / "python"
    # No bytecode compilation of the dependencies: it doubles the install time, and the
    # few modules the test imports compile on first use.
    _run([python, "-m", "pip", "install", "--quiet", "--no-compile", wheel], cwd=environment.parent)
    return environment


def test_the_wheel_carries_the_package_and_the_bundled_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "src" / "psychoalign"
    sources = {
        f"psychoalign/{path.relative_to(package).as_posix()}"
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert sources <= names, sorted(sources - names)[:5]
    data = ROOT / "data"
    bundled = {
        f"psychoalign/_data/{path.relative_to(data).as_posix()}"
        for name in _BUNDLED_DATA
        for path in ([data / name] if (data / name).is_file() else (data / name).rglob("*"))
        if path.is_file()
    }
    assert bundled <= names, sorted(bundled - names)[:5]
    shipped_data = {name for name in names if name.startswith("psychoalign/_data/")}
    assert shipped_data == bundled, sorted(shipped_data - bundled)[:5]
    assert "psychoalign/_data/model-vs-human/LICENSE" in names
    assert "psychoalign/_data/stimulus-sets/LICENSE-texture-vs-shape" in names
    assert "psychoalign/_data/response-screen-icons/LICENSE" in names
    experiments = {
        f"psychoalign/_experiments/{path.name}"
        for path in (ROOT / "experiments").iterdir()
        if path.suffix in (".py", ".yaml")
    }
    assert len(experiments) == 8
    assert experiments == {n for n in names if n.startswith("psychoalign/_experiments/")}
    assert wheel.stat().st_size < 20 * 2**20


def test_the_installed_wheel_compares_its_bundled_data_from_another_folder(installed, tmp_path):
    python = installed / "bin" / "python"
    heavy = _run(
        [
            python,
            "-c",
            "import importlib.util as u; "
            "print([m for m in ('torch', 'psychopy') if u.find_spec(m)])",
        ],
        cwd=tmp_path,
    )
    assert heavy.stdout.strip() == "[]"
    located = _run(
        [python, "-c", "from psychoalign.datasets import data_dir; print(data_dir())"],
        cwd=tmp_path,
    )
    data = Path(located.stdout.strip())
    assert data.resolve().is_relative_to(installed.resolve()), data
    assert not data.resolve().is_relative_to(ROOT.resolve()), data
    out = tmp_path / "compared"
    _run(
        [
            installed / "bin" / "psychoalign",
            "compare",
            data / "model-vs-human" / "human-raw" / "edge",
            "--out",
            out,
        ],
        cwd=tmp_path,
    )
    for table in ("accuracy", "error_consistency", "benchmark"):
        assert (out / f"{table}.csv").stat().st_size > 0
        assert (out / f"{table}.json").is_file()
    assert len((out / "accuracy.csv").read_text().splitlines()) == 1 + 10


def test_the_installed_wheel_reads_the_lab_configuration_it_carries(installed, tmp_path):
    code = (
        "import psychoalign.lab.config as c; print(c.experiments_dir()); "
        "print(c.load_config('noise_degraded')['durations_ms']['stimulus'])"
    )
    located, stimulus_ms = _run(
        [installed / "bin" / "python", "-c", code], cwd=tmp_path
    ).stdout.split()
    assert Path(located).resolve().is_relative_to(installed.resolve()), located
    assert float(stimulus_ms) == 200
