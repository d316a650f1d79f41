"""Build hook: a wheel carries ``data/`` and ``experiments/`` inside the package.

They go to ``psychoalign/_data`` and ``psychoalign/_experiments``. The checkout keeps
both at its root (the README's commands use those paths, and an
editable install reads them there); an installed wheel has no checkout beside it, so the
build copies them into the package. :func:`psychoalign.datasets.data_dir` and
:func:`psychoalign.lab.config.experiments_dir` find either. Everything else about the
build is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Checkout folder -> (its entries that ship, as names or glob patterns; where they lie
#: inside the installed package).
#: Only the listed entries of ``data/`` ship: lab sessions write participants' files under
#: ``data/<paradigm>/`` by default, and those must never end up in a wheel.
BUNDLED = {
    "data": (
        ("README.md", "model-vs-human", "stimulus-sets", "response-screen-icons"),
        Path("psychoalign") / "_data",
    ),
    "experiments": (("*.py", "*.yaml"), Path("psychoalign") / "_experiments"),
}


def bundled_files() -> list[tuple[Path, Path]]:
    """``(source, path in the package)`` of every bundled file; a missing one stops the build."""
    files = []
    for folder, (entries, package_folder) in BUNDLED.items():
        for name in entries:
            matches = sorted((ROOT / folder).glob(name))
            if not matches:
                raise FileNotFoundError(
                    f"{ROOT / folder / name}: the bundled files are incomplete; a wheel without "
                    "them cannot run the demo and the experiments (build from a full checkout "
                    "or its sdist)."
                )
            found = [f for m in matches for f in ([m] if m.is_file() else sorted(m.rglob("*")))]
            files += [
                (path, package_folder / path.relative_to(ROOT / folder))
                for path in found
                if path.is_file() and "__pycache__" not in path.parts
            ]
    return files


class BuildWithData(build_py):
    """``build_py`` that also copies the bundled data and experiments into the package."""

    def run(self) -> None:
        """Build the package as usual, then copy the bundled files (not when editable)."""
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        # A build folder left by an earlier build may hold files since removed.
        for _, package_folder in BUNDLED.values():
            shutil.rmtree(Path(self.build_lib) / package_folder, ignore_errors=True)
        for source, inside in bundled_files():
            destination = Path(self.build_lib) / inside
            self.mkpath(str(destination.parent))
            self.copy_file(str(source), str(destination), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        """The built files, the copied data among them (what an install records)."""
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(Path(self.build_lib) / inside) for _, inside in bundled_files()]


setup(cmdclass={"build_py": BuildWithData})
