"""Fetching published stimulus sets: pinned checksums, atomic indexing, no second download.

The real texture-vs-shape stimuli (``../shared/data``) are served over a loopback HTTP
server laid out as upstream's ``stimuli/`` folder; nothing here reaches the internet.
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from psychoalign.datasets import PUBLISHED_STIMULUS_SETS, data_dir, stimulus_set
from psychoalign.errors import MissingFileError, StimulusSetError
from psychoalign.stimuli import MANIFEST_COLUMNS
from psychoalign.workflows.datasets import (
    PublishedSet,
    fetch_stimulus_set,
    published_stimulus_sets,
)
from support import HUMAN_RAW, SHARED_DATA, raw_rows, serve

STIMULI = SHARED_DATA / "texture-vs-shape" / "stimuli"
#: Upstream folder name -> its copy in the shared data.
UPSTREAM = {
    "style-transfer-preprocessed-512": STIMULI / "cue-conflict",
    "edges": STIMULI / "edges",
    "filled-silhouettes": STIMULI / "filled-silhouettes",
}


def upstream_mirror(folder: Path) -> Path:
    """A folder laid out as texture-vs-shape's ``stimuli/`` (symlinks into the shared data)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in UPSTREAM.items():
        (folder / name).symlink_to(target, target_is_directory=True)
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Iterator[tuple[str, list[str]]]:
    with serve(upstream_mirror(tmp_path_factory.mktemp("mirror") / "stimuli")) as served:
        yield served


@pytest.fixture(autouse=True)
def offline(monkeypatch, mirror, tmp_path):
    """Point every fetch at the loopback mirror and an empty cache, never the internet."""
    monkeypatch.setenv("PSYCHOALIGN_DATASETS_URL", mirror[0])
    monkeypatch.setenv("PSYCHOALIGN_CACHE", str(tmp_path / "cache"))


def test_cue_conflict_is_fetched_once_and_holds_the_images_of_the_human_trials(mirror, tmp_path):
    # One test: the 1,280-file fetch is the slow part, and xdist would repeat a shared fixture.
    requested = mirror[1]
    before = len(requested)
    fetched = fetch_stimulus_set("cue-conflict", progress=False)  # $PSYCHOALIGN_DATASETS_URL
    assert len(requested) - before == 1280  # one request per file
    manifest = fetched.manifest
    human = [
        row for path in sorted((HUMAN_RAW / "cue-conflict").glob("*.csv")) for row in raw_rows(path)
    ]
    human_category = {row["imagename"].split("_")[-1]: row["category"] for row in human}
    assert fetched.name == "cue-conflict" and len(fetched) == 1280 and len(human) == 12800
    assert fetched.path == tmp_path / "cache" / "stimulus-sets" / "cue-conflict"
    assert set(human_category) == set(manifest.image)
    assert manifest.condition.unique().tolist() == ["0"]
    # The category is the shape: the trial files' category, the folder, the name's first word.
    assert manifest.category.tolist() == manifest.image.map(human_category).tolist()
    assert manifest.category.tolist() == manifest.stimulus.str.split("/").str[0].tolist()
    assert (manifest.image.str.split(r"\d", regex=True).str[0] == manifest.category).all()
    shared = STIMULI / "cue-conflict"
    assert manifest.sha256.tolist() == [sha256(shared / s) for s in manifest.stimulus]

    # A second fetch downloads nothing; stimulus_set() and the listing find the set.
    again = fetch_stimulus_set("cue-conflict", progress=False)
    assert len(requested) - before == 1280 and again.checksum == fetched.checksum
    assert stimulus_set("cue-conflict").checksum == fetched.checksum
    listed = published_stimulus_sets()
    assert listed.fetched.tolist() == [True, False, False]


def test_stimulus_set_names_the_fetch_command_when_a_published_set_is_not_fetched():
    with pytest.raises(StimulusSetError, match=r"`psychoalign datasets fetch cue-conflict`"):
        stimulus_set("cue-conflict")
    with pytest.raises(StimulusSetError, match=r"'edges' is neither a bundled nor a published"):
        stimulus_set("edges")


@pytest.mark.parametrize("name", ["edge", "silhouette"])
def test_edge_and_silhouette_are_the_bundled_sets(name, tmp_path):
    fetched = fetch_stimulus_set(name, cache=tmp_path, progress=False)
    bundled = pd.read_csv(
        data_dir() / "stimulus-sets" / name / "manifest.csv", dtype=str, keep_default_na=False
    )
    assert len(fetched) == 160
    pd.testing.assert_frame_equal(fetched.manifest[list(MANIFEST_COLUMNS)], bundled)
    assert fetched.checksum == stimulus_set(name).checksum
    info = fetched.info
    assert info["made_with"]["registry"] == f"{name}.txt" and info["licence"] == "CC BY 4.0"


def test_a_tampered_file_is_refused_and_nothing_is_indexed(tmp_path, mirror):
    served = tmp_path / "tampered"
    edges = served / "edges"
    edges.mkdir(parents=True)
    for category in sorted((STIMULI / "edges").iterdir()):
        if category.name != "oven":
            (edges / category.name).symlink_to(category, target_is_directory=True)
    (edges / "oven").mkdir()
    for image in sorted((STIMULI / "edges" / "oven").iterdir()):
        (edges / "oven" / image.name).symlink_to(image)
    genuine = STIMULI / "edges" / "oven" / "oven10.png"
    (edges / "oven" / "oven10.png").unlink()
    (edges / "oven" / "oven10.png").write_bytes(genuine.read_bytes() + b"\0")
    tampered_sha = hashlib.sha256(genuine.read_bytes() + b"\0").hexdigest()
    cache = tmp_path / "cache"
    with serve(served) as (url, _), pytest.raises(StimulusSetError) as refused:
        fetch_stimulus_set("edge", cache=cache, base_url=url, progress=False)
    message = str(refused.value)
    assert message.startswith("edges/oven/oven10.png: downloaded from ")
    assert f"SHA-256 {tampered_sha} but the pinned checksum is {sha256(genuine)}" in message
    assert message.count(". ") == 0 and message.endswith(".")
    assert not (cache / "stimulus-sets").exists()
    assert not (cache / "downloads" / "texture-vs-shape" / "edges" / "oven" / "oven10.png").exists()
    # The genuine mirror then completes the set.
    assert len(fetch_stimulus_set("edge", cache=cache, base_url=mirror[0], progress=False)) == 160


def test_an_unknown_name_lists_the_published_sets():
    with pytest.raises(
        StimulusSetError,
        match=r"^name: 'edges' is not a published stimulus set; "
        r"choose from cue-conflict, edge, silhouette\.$",
    ):
        fetch_stimulus_set("edges", progress=False)
    with pytest.raises(StimulusSetError, match=r"'colour' archive are not pinned yet"):
        fetch_stimulus_set("colour", progress=False)


def test_an_unreachable_server_is_named(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mirror"
    with pytest.raises(
        MissingFileError,
        match=rf"^{url}/edges/\w+/\w+\.png: could not be "
        r"downloaded, the server is unreachable",
    ):
        fetch_stimulus_set("edge", cache=tmp_path, base_url=url, progress=False)
    assert not (tmp_path / "stimulus-sets").exists()


def test_a_missing_file_names_the_url_and_the_http_status(tmp_path):
    (tmp_path / "empty").mkdir()
    with (
        serve(tmp_path / "empty") as (url, _),
        pytest.raises(
            MissingFileError,
            match=rf"^{url}edges/.*: could not be downloaded "
            r"\(HTTP 404\)\.$",
        ),
    ):
        fetch_stimulus_set("edge", cache=tmp_path / "cache", base_url=url, progress=False)


def test_an_archive_entry_is_unpacked_and_indexed_by_its_file_names(tmp_path, monkeypatch):
    # A model-vs-human-style archive of 16 real edge images, named as its trial files
    # name them with the observer field "dnn".
    trials = raw_rows(sorted((HUMAN_RAW / "edge").glob("*.csv"))[0])[:16]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for row in trials:
            name = row["imagename"].replace("_s01_", "_dnn_")
            image = row["imagename"].split("_")[-1]
            archive.add(
                STIMULI / "edges" / row["category"] / image, arcname=f"edge/dnn/session-1/{name}"
            )
    served = tmp_path / "served"
    served.mkdir()
    (served / "edge.tar.gz").write_bytes(buffer.getvalue())
    registry = tmp_path / "edge-archive.txt"
    registry.write_text(f"edge.tar.gz sha256:{hashlib.sha256(buffer.getvalue()).hexdigest()}\n")
    monkeypatch.delenv("PSYCHOALIGN_DATASETS_URL")  # the set's own base URL serves it
    with serve(served) as (url, requested):
        spec = PublishedSet("edge-archive", url, registry, archive=True, source="model-vs-human")
        fetched = fetch_stimulus_set(spec, cache=tmp_path / "cache", progress=False)
    assert requested == ["/edge.tar.gz"]
    manifest = fetched.manifest.set_index("image")
    assert len(manifest) == 16 and fetched.name == "edge-archive"
    for row in trials:
        image = row["imagename"].split("_")[-1]
        name = row["imagename"].replace("_s01_", "_dnn_")
        assert manifest.loc[image, "stimulus"] == f"edge/dnn/session-1/{name}"
        assert manifest.loc[image, "category"] == row["category"]
        assert manifest.loc[image, "condition"] == row["condition"] == "0"
        assert manifest.loc[image, "sha256"] == sha256(STIMULI / "edges" / row["category"] / image)


def test_published_stimulus_sets_lists_the_pinned_sets(tmp_path):
    listed = published_stimulus_sets(cache=tmp_path)
    assert tuple(listed.name) == PUBLISHED_STIMULUS_SETS
    assert listed.n_files.tolist() == [1280, 160, 160]
    assert listed.fetched.tolist() == [False, False, False]
    assert listed.bundled.tolist() == [False, True, True]
    assert listed.path.tolist() == [str(tmp_path / "stimulus-sets" / n) for n in listed.name]
    assert listed.url[0] == (
        "https://raw.githubusercontent.com/rgeirhos/texture-vs-shape/master/stimuli/"
        "style-transfer-preprocessed-512"
    )
