"""The architecture, enforced: layers, one-way imports, a light analysis side, public API.

DESIGN.md section 1: ``trials`` <- ``metrics`` <- ``plots``/``report``; ``stimuli`` <-
``models`` <- ``synthesis``; ``workflows`` may import all of these; ``lab``, ``web`` and
``cli`` sit on top. The analysis side runs on a cluster node: no PsychoPy, no display, no
torch at import.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import psychoalign

PACKAGE = Path(psychoalign.__file__).parent

#: Modules every layer may import: the error types, file I/O, checks and the root package.
FOUNDATION = {"", "errors", "_io", "_checks", "_deprecated", "_lazy", "_progress", "provenance"}
ANALYSIS = {"trials", "metrics", "stats", "plots", "report"}
MODEL_SIDE = {"stimuli", "models", "synthesis", "datasets"}

#: Layer -> the layers it may import (besides itself and FOUNDATION).
ALLOWED = {
    "": {"trials", "errors"},
    "errors": set(),
    "_io": set(),
    "_checks": {"errors"},
    "_deprecated": set(),
    "_lazy": set(),
    "_progress": set(),
    "provenance": set(),
    "trials": set(),
    "metrics": {"trials"},
    "stats": {"trials", "metrics"},
    "plots": {"trials", "metrics"},
    "report": {"trials", "metrics", "plots"},
    "stimuli": {"trials"},
    "datasets": {"trials", "stimuli"},
    "models": {"trials", "stimuli"},
    "synthesis": {"trials", "stimuli", "models"},
    # The game rules of ClickMe, shared by the lab task and the web game.
    "rules": set(),
    "workflows": ANALYSIS | MODEL_SIDE,
    "lab": ANALYSIS | MODEL_SIDE | {"rules", "workflows", "cli"},
    "web": ANALYSIS | MODEL_SIDE | {"rules", "workflows"},
    "cli": ANALYSIS | MODEL_SIDE | {"rules", "workflows", "lab", "web"},
    # Deprecated shims of moved modules: a docstring and a ``moved`` __getattr__ only.
    "clickme": set(),
    "demo": set(),
    "pipeline": set(),
}


def _layer(module: str) -> str:
    """``psychoalign.metrics.clickmaps.maps`` -> ``metrics``; ``psychoalign`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; use the absolute path"
            names.add(node.module)
    return names


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_known_layer():
    layers = {_layer(_module_name(path)) for path in SOURCES}
    assert layers <= set(ALLOWED) | {""}, layers - set(ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: _module_name(path))
def test_imports_flow_one_way(path):
    layer = _layer(_module_name(path))
    allowed = ALLOWED.get(layer, set()) | {layer} | FOUNDATION
    for module in _imported_modules(path):
        if module.split(".")[0] == "psychoalign":
            assert _layer(module) in allowed, f"{path}: layer '{layer}' imports {module}"


def test_metrics_use_only_numpy_pandas_scipy_and_numba():
    allowed_third_party = {"numpy", "pandas", "scipy", "numba"}
    for path in (PACKAGE / "metrics").rglob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            assert top in allowed_third_party | {"psychoalign"} or (
                top in sys.stdlib_module_names
            ), (path, module)


def test_analysis_side_imports_no_display_torch_or_lab_packages():
    code = (
        "import sys, psychoalign, psychoalign.trials, psychoalign.metrics, psychoalign.datasets, "
        "psychoalign.provenance, psychoalign.stimuli, psychoalign.errors, psychoalign.workflows, "
        "psychoalign.cli, psychoalign.lab.runner, psychoalign.lab.config\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'psychopy', 'pyglet', 'torch', 'matplotlib', 'psychtoolbox'})\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _public_packages() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE)], prefix="psychoalign.")
        if info.ispkg and not any(part.startswith("_") for part in info.name.split("."))
    )


@pytest.mark.parametrize("package", ["psychoalign", *_public_packages()])
def test_package_all_is_the_union_of_its_modules_all(package):
    imported = importlib.import_module(package)
    folder = Path(imported.__file__).parent
    union: set[str] = set()
    for info in pkgutil.iter_modules([str(folder)]):
        if info.name.startswith("_") or (
            info.name in ("cli", "lab", "web") and package == ("psychoalign")
        ):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
        if package != "psychoalign":
            union |= set(module.__all__)
    if package == "psychoalign":
        assert set(imported.__all__) <= set(dir(imported)) | {"__version__"}
        return
    assert set(imported.__all__) == union, (
        f"{package}.__all__ lacks {sorted(union - set(imported.__all__))} and has extra "
        f"{sorted(set(imported.__all__) - union)}"
    )
    assert all(hasattr(imported, name) for name in imported.__all__)


def test_no_function_over_80_lines_and_no_module_over_600():
    too_long = []
    for path in [*SOURCES, *(PACKAGE.parents[1] / "experiments").glob("*.py")]:
        lines = path.read_text().splitlines()
        if len(lines) > 600:
            too_long.append(f"{path}: {len(lines)} lines")
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                code = _code_lines(node, lines)
                if code > 80:
                    too_long.append(f"{path}:{node.lineno} {node.name}: {code} lines of code")
    assert not too_long, "\n".join(too_long)


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    """Lines of code in a function: its docstring, comments and blank lines aside."""
    span = set(range(node.lineno, node.end_lineno + 1))
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        span -= set(range(first.lineno, first.end_lineno + 1))
    return sum(1 for n in span if lines[n - 1].strip() and not lines[n - 1].strip().startswith("#"))


#: Built-in exceptions raised inside psychoalign and caught there (never reaching a user).
_CAUGHT_INTERNALLY = {("stimuli/degrade.py", "ValueError")}
_BUILT_IN = {"ValueError", "TypeError", "KeyError", "FileNotFoundError", "OSError", "RuntimeError"}


def test_users_meet_only_psychoalign_errors():
    raised = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", None)
                if name in _BUILT_IN:
                    raised.add((path.relative_to(PACKAGE).as_posix(), name))
    assert raised <= _CAUGHT_INTERNALLY, sorted(raised - _CAUGHT_INTERNALLY)


def test_every_error_type_is_a_psychoalign_error_and_a_builtin_one():
    from psychoalign import errors

    for name in errors.__all__:
        error = getattr(errors, name)
        assert issubclass(error, errors.PsychoalignError), name
        assert name == "PsychoalignError" or issubclass(error, (ValueError, OSError)), name
