from __future__ import annotations

import re
from importlib import resources

import numpy as np
import pytest

from psychoalign.models import (
    ModelError,
    animal_mapping,
    get_mapping,
    identity_mapping,
    imagenet_16,
    imagenet_labels,
    mapping_from_file,
    wordnet_mapping,
)
from psychoalign.models.mappings import DecisionMapping
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES


def _file_wnids() -> dict[str, set[str]]:
    """The mapping file parsed independently: each 'name = [...]' block's WordNet ids."""
    text = (
        resources.files("psychoalign.models.resources")
        .joinpath("MSCOCO_to_ImageNet_category_mapping.txt")
        .read_text()
    )
    text = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    return {
        name: set(re.findall(r"n\d{8}", body))
        for name, body in re.findall(r"(\w+)\s*=\s*\[(.*?)\]", text, re.S)
    }


def test_the_16_categories_cover_exactly_the_wordnet_ids_of_the_file():
    mapping = imagenet_16()
    assert mapping.categories == MODEL_VS_HUMAN_CATEGORIES
    in_imagenet = set(imagenet_labels())
    groups = _file_wnids()
    assert set(groups) == set(mapping.categories)
    for category, members in zip(mapping.categories, mapping.members, strict=True):
        assert set(members) == groups[category] & in_imagenet, category
    outside = sorted(set().union(*groups.values()) - in_imagenet)
    assert "n13861050" in outside  # the file itself warns some ids are not in ImageNet
    assert sum(len(m) for m in mapping.members) == len(set().union(*groups.values()) & in_imagenet)


def _probabilities(**values: float) -> np.ndarray:
    vector = np.zeros((1, 1000))
    labels = imagenet_labels()
    for wnid, value in values.items():
        vector[0, labels.index(wnid)] = value
    return vector


def test_mean_and_sum_aggregation_by_hand():
    # bear has 4 ids, knife 1: two bears at .3 (mean .15, sum .6) against a knife at .4.
    softmax = _probabilities(n02132136=0.3, n02133161=0.3, n03041632=0.4)
    mean, summed = imagenet_16("mean"), imagenet_16("sum")
    scores = mean.probabilities(softmax, imagenet_labels())[0]
    assert scores[mean.categories.index("bear")] == pytest.approx(0.6 / 4)
    assert scores[mean.categories.index("knife")] == pytest.approx(0.4)
    assert mean.decide(softmax, imagenet_labels()) == ["knife"]
    assert summed.decide(softmax, imagenet_labels()) == ["bear"]
    assert summed.probabilities(softmax, imagenet_labels())[0].sum() == pytest.approx(1.0)


def test_animal_mapping_follows_wordnet():
    mapping = animal_mapping()
    animal, other = (set(m) for m in mapping.members)
    assert mapping.categories == ("animal", "non-animal")
    assert len(animal) == 398 and len(other) == 602
    assert "n01440764" in animal  # tench
    assert "n01910747" in animal  # jellyfish
    assert "n10565667" in other  # scuba diver: a person, not an animal in WordNet
    assert "n12985857" in other  # coral fungus
    labels = imagenet_labels()
    softmax = np.zeros((1, 1000))
    softmax[0, labels.index("n01443537")] = 0.3  # goldfish
    softmax[0, labels.index("n04037443")] = 0.2  # racer
    softmax[0, labels.index("n03041632")] = 0.5  # cleaver
    assert mapping.decide(softmax, labels) == ["non-animal"]


def test_wordnet_categories_must_not_overlap():
    with pytest.raises(ModelError, match=r"falls under both"):
        wordnet_mapping({"animal": "n00015388", "dog": "n02084071"})
    dogs = wordnet_mapping({"dog": "n02084071"}, other="rest")
    assert len(dogs.members[0]) == 118  # the 118 dog breeds of ImageNet-1k


def test_mapping_files(tmp_path):
    csv = tmp_path / "kitchen.csv"
    csv.write_text("category,label\nknife,n03041632\noven,n04111531\noven,n03259401\n")
    mapping = mapping_from_file(csv)
    assert mapping.name == "kitchen" and mapping.members == (
        ("n03041632",),
        ("n04111531", "n03259401"),
    )
    js = tmp_path / "kitchen.json"
    js.write_text('{"knife": ["n03041632"], "oven": ["n04111531"]}')
    assert mapping_from_file(js).categories == ("knife", "oven")
    txt = tmp_path / "kitchen.txt"
    txt.write_text("# two categories\nknife = [n03041632]\noven = [n04111531,\n  n03259401]\n")
    assert mapping_from_file(txt).members[1] == ("n04111531", "n03259401")
    bad = tmp_path / "bad.csv"
    bad.write_text("category,label\nknife\n")
    with pytest.raises(ModelError, match=r"bad\.csv: row 2: needs a category and a label"):
        mapping_from_file(bad)
    typo = tmp_path / "typo.csv"
    typo.write_text("category,label\nknife,n0304163\n")
    with pytest.raises(ModelError, match=r"label 'n0304163' is not an output of the model"):
        mapping_from_file(typo).matrix(imagenet_labels())


def test_identity_and_named_mappings():
    assert identity_mapping(["a", "b"]).decide(np.array([[0.2, 0.8]]), ["a", "b"]) == ["b"]
    assert get_mapping("imagenet-16-sum").aggregation == "sum"
    assert get_mapping("animal").name == "animal"
    with pytest.raises(ModelError, match=r"mapping: 'coco' is neither"):
        get_mapping("coco")
    with pytest.raises(ModelError, match=r"aggregation: 'max'"):
        DecisionMapping("x", ("a",), (("a",),), "max")


def test_the_checksum_changes_with_the_definition():
    assert imagenet_16().checksum == imagenet_16().checksum != imagenet_16("sum").checksum
