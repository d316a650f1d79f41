"""Pin the SHA-256 of every file of the published stimulus sets psychoalign can fetch.

The registries are pooch registry files (``<path> sha256:<hex>``, one file a line), one
per stimulus set, in ``src/psychoalign/workflows/registry``. Paths are relative to the
``stimuli/`` folder of the texture-vs-shape repository (Geirhos et al. 2019,
github.com/rgeirhos/texture-vs-shape, CC BY 4.0), with the upstream folder names, so one
base URL serves all three sets. The checksums are computed from the copy of those files
in the project's shared data (``../shared/data/texture-vs-shape/stimuli``, whose
``cue-conflict`` folder is upstream's ``style-transfer-preprocessed-512``). Run it once;
its output is committed:

    python scripts/build_dataset_registry.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "src" / "psychoalign" / "workflows" / "registry"
#: Stimulus set -> (its folder in the shared data, its folder upstream).
SETS = {
    "cue-conflict": ("cue-conflict", "style-transfer-preprocessed-512"),
    "edge": ("edges", "edges"),
    "silhouette": ("filled-silhouettes", "filled-silhouettes"),
}
HEADER = (
    "# Pinned SHA-256 of the {name} stimulus set ({count} files), in pooch's registry format.\n"
    "# Paths are relative to texture-vs-shape's stimuli/ folder (Geirhos et al. 2019, CC BY 4.0):\n"
    "# https://raw.githubusercontent.com/rgeirhos/texture-vs-shape/master/stimuli/\n"
    "# Written by scripts/build_dataset_registry.py; do not edit by hand.\n"
)


def registry_lines(folder: Path, upstream: str) -> list[str]:
    """``<upstream>/<category>/<file> sha256:<hex>`` for every PNG of a category folder."""
    files = sorted(folder.glob("*/*.png"))
    if not files:
        raise SystemExit(f"{folder}: holds no <category>/<file>.png images.")
    return [
        f"{upstream}/{file.relative_to(folder).as_posix()} "
        f"sha256:{hashlib.sha256(file.read_bytes()).hexdigest()}"
        for file in files
    ]


def main() -> None:
    """Write one registry per stimulus set from the shared data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="The shared data folder (holds texture-vs-shape/stimuli).",
    )
    arguments = parser.parse_args()
    stimuli = arguments.shared / "texture-vs-shape" / "stimuli"
    REGISTRY.mkdir(parents=True, exist_ok=True)
    for name, (local, upstream) in SETS.items():
        lines = registry_lines(stimuli / local, upstream)
        text = HEADER.format(name=name, count=len(lines)) + "\n".join(lines) + "\n"
        (REGISTRY / f"{name}.txt").write_text(text)
        print(f"{REGISTRY / f'{name}.txt'}: {len(lines)} files")


if __name__ == "__main__":
    main()
