"""The analysis side runs on a cluster node: no PsychoPy, no display, no torch.

The lab runtime imports PsychoPy only when an experiment starts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import psychoalign

PACKAGE = Path(psychoalign.__file__).parent


def test_analysis_side_imports_no_display_or_lab_packages():
    code = (
        "import sys, psychoalign, psychoalign.trials, psychoalign.metrics, psychoalign.datasets, "
        "psychoalign.provenance, psychoalign.stimuli, psychoalign.cli, psychoalign.lab.runner\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'psychopy', 'pyglet', 'torch', 'matplotlib', 'psychtoolbox'})\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": ""}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_metrics_import_only_the_trial_table_and_themselves():
    allowed_third_party = {"numpy", "pandas", "scipy"}
    for path in (PACKAGE / "metrics").glob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            if top == "psychoalign":
                assert module == "psychoalign.trials" or module.startswith("psychoalign.metrics"), (
                    path,
                    module,
                )
            else:
                assert top in allowed_third_party or top in sys.stdlib_module_names, (path, module)


def test_stimuli_import_neither_lab_plots_nor_metrics():
    for path in (PACKAGE / "stimuli").glob("*.py"):
        for module in _imported_modules(path):
            assert not module.startswith(
                ("psychoalign.lab", "psychoalign.plots", "psychoalign.metrics")
            ), (
                path,
                module,
            )


def test_public_modules_declare_all():
    for module in ("trials", "datasets", "provenance"):
        assert hasattr(__import__(f"psychoalign.{module}", fromlist=["__all__"]), "__all__")
    import psychoalign.metrics as metrics

    assert all(hasattr(metrics, name) for name in metrics.__all__)
