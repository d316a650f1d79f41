from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from psychoalign.datasets import load_model_vs_human, stimulus_set
from psychoalign.stimuli import StimulusSet, StimulusSetError
from psychoalign.stimuli.stimulus_set import SetWriter


@pytest.fixture
def edge() -> StimulusSet:
    return stimulus_set("edge")


@pytest.fixture
def small_folder(tmp_path, edge) -> Path:
    """A plain <category>/<file> folder with two real categories (20 images)."""
    folder = tmp_path / "plain"
    for row in edge.subset(categories=["oven", "knife"]):
        target = folder / row.category / row.image
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(row.path, target)
    (folder / ".DS_Store").write_text("ignored")
    (folder / "oven" / "README.txt").write_text("ignored: not an image suffix")
    return folder


@pytest.mark.parametrize("name", ["edge", "silhouette"])
def test_bundled_sets_join_the_human_trials_on_image(name):
    stimuli = stimulus_set(name)
    humans = load_model_vs_human(name)
    assert len(stimuli) == 160 and stimuli.conditions == ["0"]
    assert set(stimuli.manifest.image) == set(humans.image)
    per_image = humans.drop_duplicates("image").set_index("image").category
    manifest = stimuli.manifest.set_index("image")
    assert (manifest.category == per_image.reindex(manifest.index)).all()
    assert stimuli.verify().empty
    assert stimuli.info["checksum"] == stimuli.checksum


def test_from_folder_indexes_a_plain_tree(small_folder, edge):
    indexed = StimulusSet.from_folder(small_folder, name="kitchen")
    assert not indexed.saved and indexed.name == "kitchen"
    assert indexed.categories == ["knife", "oven"] and len(indexed) == 20
    assert indexed.manifest.columns.tolist() == [
        "stimulus",
        "image",
        "category",
        "condition",
        "sha256",
    ]
    expected = edge.manifest.set_index("image").sha256
    assert (
        indexed.manifest.set_index("image").sha256 == expected.reindex(indexed.manifest.image)
    ).all()


def test_duplicate_image_ids_are_refused(small_folder):
    shutil.copy(small_folder / "oven" / "oven1.png", small_folder / "knife" / "oven1.png")
    with pytest.raises(StimulusSetError, match=r"column 'image' repeats '0' and 'oven1.png'"):
        StimulusSet.from_folder(small_folder)


def test_loose_files_are_refused(small_folder):
    shutil.copy(small_folder / "oven" / "oven1.png", small_folder / "loose.png")
    with pytest.raises(StimulusSetError, match=r"loose\.png: is not at <category>/<file>"):
        StimulusSet.from_folder(small_folder)


def test_a_bad_image_is_named_and_nothing_is_indexed(small_folder):
    (small_folder / "oven" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
    with pytest.raises(StimulusSetError, match=r"broken\.png: "):
        StimulusSet.from_folder(small_folder)


def test_palette_images_are_refused(small_folder):
    Image.new("P", (4, 4)).save(small_folder / "oven" / "palette.png")
    with pytest.raises(StimulusSetError, match=r"palette\.png: is a palette image"):
        StimulusSet.from_folder(small_folder)


def test_from_csv(tmp_path, small_folder):
    listing = small_folder / "listing.csv"
    listing.write_text("file,category,condition\noven/oven1.png,oven,a\nknife/knife2.png,knife,b\n")
    indexed = StimulusSet.from_csv(listing)
    assert indexed.manifest[["stimulus", "image", "condition"]].values.tolist() == [
        ["oven/oven1.png", "oven1.png", "a"],
        ["knife/knife2.png", "knife2.png", "b"],
    ]
    listing.write_text("file,label\noven/oven1.png,oven\n")
    with pytest.raises(StimulusSetError, match=r"listing\.csv: column 'category' is missing"):
        StimulusSet.from_csv(listing)
    listing.write_text("file,category\noven/none.png,oven\n")
    with pytest.raises(
        StimulusSetError, match=r"listing\.csv: row 2: file 'oven/none.png' does not exist"
    ):
        StimulusSet.from_csv(listing)
    listing.write_text("file,category\n../outside.png,oven\n")
    with pytest.raises(StimulusSetError, match=r"not a relative path inside the set"):
        StimulusSet.from_csv(listing)


def test_write_then_open_round_trips(tmp_path, small_folder):
    written = StimulusSet.from_folder(small_folder).write(tmp_path / "kitchen")
    assert written.saved and written.verify().empty
    reopened = StimulusSet.open(tmp_path / "kitchen")
    pd.testing.assert_frame_equal(reopened.manifest, written.manifest)
    assert reopened.checksum == StimulusSet.from_folder(small_folder).checksum
    info = json.loads((tmp_path / "kitchen" / "stimulus_set.json").read_text())
    assert info["n_stimuli"] == 20 and info["checksum"] == reopened.checksum
    assert info["psychoalign_version"]
    first = reopened.frame().iloc[0]
    np.testing.assert_array_equal(
        reopened.load(first.stimulus), np.asarray(Image.open(first.path)) / 255
    )
    assert [row.stimulus for row in reopened] == reopened.manifest.stimulus.tolist()


def test_an_existing_set_is_never_overwritten_silently(tmp_path, small_folder):
    indexed = StimulusSet.from_folder(small_folder)
    indexed.write(tmp_path / "kitchen")
    with pytest.raises(StimulusSetError, match=r"kitchen: already exists"):
        indexed.write(tmp_path / "kitchen")
    smaller = indexed.subset(categories=["oven"]).write(tmp_path / "kitchen", overwrite=True)
    assert len(smaller) == 10 and len(StimulusSet.open(tmp_path / "kitchen")) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kitchen", "plain"]


def _add(writer: SetWriter, row) -> None:
    """Copy a row of a stimulus set into the writer, at condition 0."""
    writer.add(
        {"stimulus": row.stimulus, "image": row.image, "category": row.category, "condition": "0"},
        row.path.read_bytes(),
    )


def test_an_interrupted_build_leaves_no_half_set(tmp_path, edge):
    rows = list(edge)[:5]
    with pytest.raises(KeyboardInterrupt), SetWriter(tmp_path / "half") as writer:
        for index, row in enumerate(rows):
            if index == 3:
                raise KeyboardInterrupt
            _add(writer, row)
    assert list(tmp_path.iterdir()) == []


def test_files_beside_the_manifest_are_recorded_with_their_checksums(tmp_path, edge):
    row = next(iter(edge))
    table = b"stimulus,valid\noven/oven1.png,True\n"
    with SetWriter(tmp_path / "made") as writer:
        _add(writer, row)
        for refused in ["manifest.csv", "../outside.csv", "tables/valid.csv", row.stimulus]:
            with pytest.raises(StimulusSetError, match="cannot be added beside the manifest"):
                writer.add_file(refused, table)
        assert writer.add_file("valid.csv", table) == hashlib.sha256(table).hexdigest()
        made = writer.commit({})
    assert (made.path / "valid.csv").read_bytes() == table
    assert made.info["files"] == {"valid.csv": hashlib.sha256(table).hexdigest()}
    assert made.manifest.stimulus.tolist() == [row.stimulus] and made.verify().empty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["made"]


def test_verify_lists_missing_and_altered_files(tmp_path, edge):
    copy = edge.write(tmp_path / "edge")
    (copy.path / "oven" / "oven1.png").unlink()
    altered = copy.path / "knife" / "knife3.png"
    data = bytearray(altered.read_bytes())
    data[-20] ^= 0xFF
    altered.write_bytes(bytes(data))
    problems = copy.verify().set_index("stimulus").problem
    assert problems.to_dict().keys() == {"oven/oven1.png", "knife/knife3.png"}
    assert problems["oven/oven1.png"] == "missing"
    assert problems["knife/knife3.png"].startswith("altered: SHA-256")
    with pytest.raises(
        StimulusSetError, match=r"knife3\.png: is altered.*\(and 1 more bad files\)"
    ):
        copy.verify(raise_errors=True)


def test_subset_selects_and_records_its_origin(edge):
    part = edge.subset(categories=["cat", "dog"], images=["cat1.png", "dog2.png", "dog3.png"])
    assert part.manifest.image.tolist() == ["cat1.png", "dog2.png", "dog3.png"]
    assert part.info["subset_of"]["checksum"] == edge.checksum
    with pytest.raises(StimulusSetError, match=r"category: 'zebra' is not in stimulus set 'edge'"):
        edge.subset(categories=["zebra"])


def test_open_refuses_folders_that_are_not_sets(tmp_path, small_folder):
    with pytest.raises(
        StimulusSetError, match=r"is not a stimulus set, it has no manifest.csv.*from_folder"
    ):
        StimulusSet.open(small_folder)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.csv").write_text("stimulus,image,category\na.png,a.png,cat\n")
    with pytest.raises(StimulusSetError, match=r"column 'condition' is missing"):
        StimulusSet.open(broken)


def test_commit_lists_the_rows_in_the_order_given(tmp_path, edge):
    rows = list(edge.subset(categories=["oven"]))[:3]
    with SetWriter(tmp_path / "set") as writer:
        for row in rows:
            fields = {"stimulus": row.stimulus, "image": row.image, "category": row.category}
            writer.add({**fields, "condition": "0"}, row.path.read_bytes())
        with pytest.raises(StimulusSetError, match=r"order: is not an order of the 3 rows"):
            writer.commit({"name": "reordered"}, order=[0, 0, 1])
        made = writer.commit({"name": "reordered"}, order=[2, 0, 1])
    assert made.manifest.stimulus.tolist() == [rows[i].stimulus for i in (2, 0, 1)]
    assert made.verify().empty
