r"""Decision mappings: from a model's output labels to the categories of a task.

A :class:`DecisionMapping` lists, for each task category, the model outputs that stand for
it, and how their softmax probabilities combine (mean or sum); the decision is the
category with the largest combined probability.

- :func:`imagenet_16`: ImageNet-1k to the 16 entry-level categories of Geirhos et al.
  (mean probability over each category's WordNet ids, as model-vs-human; ``sum`` is the
  variant of the 2018 paper);
- :func:`wordnet_mapping` / :func:`animal_mapping`: categories defined by WordNet
  ancestors (animal vs non-animal for rapid categorisation);
- :func:`mapping_from_file`: any user file (CSV ``category,label``, JSON
  ``{category: [labels]}``, or the ``name = [ids]`` text of the Geirhos mapping file);
- :func:`identity_mapping`: a model whose outputs already are the categories.

References
----------
.. [1] Geirhos, Temme, Rauber, Schütt, Bethge & Wichmann (2018). Generalisation in humans
   and deep neural networks. NeurIPS.
.. [2] Geirhos et al. (2021). Partial success in closing the gap between human and machine
   vision. NeurIPS.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from psychoalign._io import bytes_sha256
from psychoalign.models.zoo import ModelError, imagenet_labels

__all__ = [
    "ANIMAL_WNID",
    "DecisionMapping",
    "animal_mapping",
    "get_mapping",
    "identity_mapping",
    "imagenet_16",
    "mapping_from_file",
    "wordnet_mapping",
]

#: WordNet 3.0 synset ``animal.n.01``.
ANIMAL_WNID = "n00015388"
_AGGREGATIONS = ("mean", "sum")


@dataclass(frozen=True)
class DecisionMapping:
    """Task categories, the model outputs behind each, and how their probabilities combine."""

    name: str
    categories: tuple[str, ...]
    members: tuple[tuple[str, ...], ...]  # model labels of each category
    aggregation: str = "mean"

    def __post_init__(self) -> None:
        if self.aggregation not in _AGGREGATIONS:
            raise ModelError(f"aggregation: '{self.aggregation}' is neither 'mean' nor 'sum'.")
        for category, labels in zip(self.categories, self.members, strict=True):
            if not labels:
                raise ModelError(
                    f"mapping '{self.name}': category '{category}' has no model labels."
                )

    @property
    def checksum(self) -> str:
        """SHA-256 of the mapping's full definition (part of every cache key)."""
        text = json.dumps([self.name, self.aggregation, self.categories, self.members])
        return bytes_sha256(text.encode())

    def describe(self) -> dict[str, object]:
        """A JSON-ready record of the mapping."""
        return {
            "name": self.name,
            "aggregation": self.aggregation,
            "categories": {c: list(m) for c, m in zip(self.categories, self.members, strict=True)},
            "checksum": self.checksum,
        }

    def indices(self, labels: Sequence[str]) -> list[np.ndarray]:
        """Output indices of each category in a model with these ``labels``."""
        position = {label: i for i, label in enumerate(labels)}
        missing = [label for members in self.members for label in members if label not in position]
        if missing:
            raise ModelError(
                f"mapping '{self.name}': label '{missing[0]}' is not an output of the model "
                f"({len(labels)} outputs, e.g. {', '.join(list(labels)[:3])})."
            )
        return [np.array([position[label] for label in members]) for members in self.members]

    def matrix(self, labels: Sequence[str]) -> torch.Tensor:
        """(outputs, categories) weights that turn softmax probabilities into category scores."""
        weights = torch.zeros(len(labels), len(self.categories), dtype=torch.float64)
        for column, rows in enumerate(self.indices(labels)):
            weights[rows, column] = 1.0 / len(rows) if self.aggregation == "mean" else 1.0
        return weights

    def probabilities(
        self, softmax: torch.Tensor | np.ndarray, labels: Sequence[str]
    ) -> np.ndarray:
        r"""Category scores (n, categories) from softmax probabilities (n, outputs).

        Notes
        -----
        .. math:: s_c = \frac{1}{|M_c|}\sum_{k \in M_c} p_k \ \text{(mean)}, \qquad
                  s_c = \sum_{k \in M_c} p_k \ \text{(sum)}
        """
        probabilities = torch.as_tensor(softmax, dtype=torch.float64)
        return (probabilities @ self.matrix(labels).to(probabilities.device)).cpu().numpy()

    def decide(self, softmax: torch.Tensor | np.ndarray, labels: Sequence[str]) -> list[str]:
        """The category with the largest score for each row of softmax probabilities."""
        scores = self.probabilities(softmax, labels)
        return [self.categories[i] for i in scores.argmax(axis=1)]


def _geirhos_file() -> dict[str, list[str]]:
    """Parse the ``category = [wnid, ...]`` blocks of the Geirhos et al. mapping file."""
    text = (
        resources.files("psychoalign.models.resources")
        .joinpath("MSCOCO_to_ImageNet_category_mapping.txt")
        .read_text()
    )
    return _parse_bracket_text(text, "MSCOCO_to_ImageNet_category_mapping.txt")


def _parse_bracket_text(text: str, where: str) -> dict[str, list[str]]:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    blocks = re.findall(r"([A-Za-z_][\w -]*?)\s*=\s*\[([^\]]*)\]", body)
    if not blocks:
        raise ModelError(f"{where}: has no 'category = [label, ...]' entries.")
    return {
        name.strip(): [item.strip() for item in items.split(",") if item.strip()]
        for name, items in blocks
    }


def imagenet_16(aggregation: str = "mean") -> DecisionMapping:
    """ImageNet-1k outputs to the 16 entry-level categories of Geirhos et al.

    Each category's WordNet ids come from ``MSCOCO_to_ImageNet_category_mapping.txt``
    (bundled); ids of that file that are not among the 1000 ImageNet classes are left
    out (the file itself notes that some are not part of ImageNet).

    Examples
    --------
    >>> mapping = imagenet_16()
    >>> mapping.categories[:3], mapping.members[mapping.categories.index("knife")]
    (('airplane', 'bear', 'bicycle'), ('n03041632',))
    """
    present = set(imagenet_labels())
    groups = _geirhos_file()
    categories = tuple(sorted(groups))
    members = tuple(tuple(w for w in groups[c] if w in present) for c in categories)
    name = "imagenet-16" if aggregation == "mean" else f"imagenet-16-{aggregation}"
    return DecisionMapping(name, categories, members, aggregation)


def _ancestors() -> dict[str, list[str]]:
    text = (
        resources.files("psychoalign.models.resources")
        .joinpath("imagenet_hypernyms.tsv")
        .read_text()
    )
    table = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            wnid, _, parents = line.partition("\t")
            table[wnid] = parents.split()
    return table


def wordnet_mapping(
    categories: Mapping[str, str | Sequence[str]],
    *,
    other: str | None = None,
    aggregation: str = "sum",
    name: str = "wordnet",
) -> DecisionMapping:
    """Categories defined by WordNet ancestors of the ImageNet-1k classes.

    Parameters
    ----------
    categories
        Category name to one or several WordNet ids; an ImageNet class belongs to a
        category when one of those ids is the class itself or among its WordNet 3.0
        ancestors (hypernyms, bundled).
    other
        Name of a category for every class in none of the others (e.g. ``non-animal``).
    aggregation
        ``sum`` (probability mass of the category, the natural choice for superordinate
        categories) or ``mean``.
    name
        Name of the mapping.
    """
    ancestry = _ancestors()
    members: dict[str, list[str]] = {c: [] for c in categories}
    unassigned = []
    for wnid, parents in ancestry.items():
        lineage = {wnid, *parents}
        hits = [
            c
            for c, ids in categories.items()
            if lineage & ({ids} if isinstance(ids, str) else set(ids))
        ]
        if len(hits) > 1:
            raise ModelError(
                f"categories: ImageNet class {wnid} falls under both '{hits[0]}' and '{hits[1]}'."
            )
        if hits:
            members[hits[0]].append(wnid)
        else:
            unassigned.append(wnid)
    if other is not None:
        members[other] = unassigned
    names = tuple(members)
    return DecisionMapping(name, names, tuple(tuple(members[c]) for c in names), aggregation)


def animal_mapping(aggregation: str = "sum") -> DecisionMapping:
    """ImageNet-1k to ``animal`` / ``non-animal`` by the WordNet hierarchy (rapid categorisation).

    Examples
    --------
    >>> mapping = animal_mapping()
    >>> [len(m) for m in mapping.members]
    [398, 602]
    """
    return wordnet_mapping(
        {"animal": ANIMAL_WNID}, other="non-animal", aggregation=aggregation, name="animal"
    )


def identity_mapping(labels: Sequence[str], name: str = "identity") -> DecisionMapping:
    """Each model output is its own category."""
    labels = tuple(str(label) for label in labels)
    return DecisionMapping(name, labels, tuple((label,) for label in labels), "sum")


def mapping_from_file(
    path: str | os.PathLike[str], *, aggregation: str = "mean"
) -> DecisionMapping:
    """A mapping from a user file: category -> list of model labels.

    Formats: ``.csv`` with columns ``category,label`` (one row per label); ``.json`` with
    ``{"category": ["label", ...]}``; anything else as ``category = [label, label]``
    blocks (the format of Geirhos et al.'s mapping file, ``#`` starts a comment).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"mapping: file {path} does not exist.")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            groups = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelError(f"{path}: is not valid JSON ({error}).") from None
        if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
            raise ModelError(f"{path}: must hold an object of category -> list of labels.")
    elif path.suffix.lower() == ".csv":
        rows = [line.split(",") for line in text.splitlines() if line.strip()]
        if [cell.strip() for cell in rows[0]] != ["category", "label"]:
            raise ModelError(f"{path}: row 1 must be the header 'category,label'.")
        groups = {}
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ModelError(f"{path}: row {number}: needs a category and a label.")
            groups.setdefault(row[0].strip(), []).append(row[1].strip())
    else:
        groups = _parse_bracket_text(text, str(path))
    categories = tuple(groups)
    return DecisionMapping(
        path.stem, categories, tuple(tuple(groups[c]) for c in categories), aggregation
    )


def get_mapping(
    spec: str | DecisionMapping, labels: Sequence[str] | None = None
) -> DecisionMapping:
    """Resolve ``imagenet-16``, ``imagenet-16-sum``, ``animal``, ``identity`` or a mapping file."""
    if isinstance(spec, DecisionMapping):
        return spec
    named = {
        "imagenet-16": lambda: imagenet_16("mean"),
        "imagenet-16-sum": lambda: imagenet_16("sum"),
        "animal": animal_mapping,
    }
    if spec in named:
        return named[spec]()
    if spec == "identity":
        if labels is None:
            raise ModelError("mapping: 'identity' needs the model's labels.")
        return identity_mapping(labels)
    if Path(spec).is_file():
        return mapping_from_file(spec)
    raise ModelError(
        f"mapping: '{spec}' is neither {', '.join(named)}, identity nor a mapping file."
    )
