"""``psychoalign datasets``: fetch a published set from a loopback mirror, list the sets."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.datasets import data_dir
from support import SHARED_DATA, serve

runner = CliRunner()
EDGES = SHARED_DATA / "texture-vs-shape" / "stimuli" / "edges"


@pytest.fixture
def mirror(tmp_path, monkeypatch) -> Iterator[tuple[str, list[str]]]:
    """texture-vs-shape's ``stimuli/`` layout (edges only) on loopback; nothing goes online."""
    (tmp_path / "stimuli").mkdir()
    (tmp_path / "stimuli" / "edges").symlink_to(EDGES, target_is_directory=True)
    monkeypatch.setenv("PSYCHOALIGN_DATASETS_URL", "http://127.0.0.1:9/unused-mirror/")
    monkeypatch.setenv("PSYCHOALIGN_CACHE", str(tmp_path / "default-cache"))
    with serve(tmp_path / "stimuli") as served:
        yield served


def test_fetch_then_list(mirror, tmp_path):
    url, requested = mirror
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["datasets", "fetch", "edge", "--cache", str(cache), "--url", url])
    assert result.exit_code == 0, result.output
    folder = cache / "stimulus-sets" / "edge"
    assert f"{folder}: 160 stimuli" in result.stdout
    assert len(requested) == 160
    fetched = pd.read_csv(folder / "manifest.csv", dtype=str)
    bundled = pd.read_csv(data_dir() / "stimulus-sets" / "edge" / "manifest.csv", dtype=str)
    pd.testing.assert_frame_equal(fetched, bundled)

    again = runner.invoke(app, ["datasets", "fetch", "edge", "--cache", str(cache), "--url", url])
    assert again.exit_code == 0 and len(requested) == 160

    listed = runner.invoke(app, ["datasets", "list", "--cache", str(cache)], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    cells = [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in listed.stdout.splitlines()
        if line.startswith("│")
    ]
    lines = {row[0]: row[2] for row in cells if row[0] not in ("", "name")}
    assert lines == {"cue-conflict": "no", "edge": "yes", "silhouette": "no"}


def test_fetch_refuses_unknown_names_and_unreachable_mirrors(mirror, tmp_path):
    result = runner.invoke(app, ["datasets", "fetch", "edges", "--cache", str(tmp_path)])
    assert result.exit_code == 2
    assert (
        "'edges' is not a published stimulus set; choose from cue-conflict, edge, silhouette"
        in (result.output)
    )
    assert "Traceback" not in result.output
    # $PSYCHOALIGN_DATASETS_URL points at a port nothing listens on.
    result = runner.invoke(app, ["datasets", "fetch", "silhouette", "--cache", str(tmp_path)])
    assert result.exit_code == 2
    assert "http://127.0.0.1:9/unused-mirror/filled-silhouettes/" in result.output
    assert "the server is unreachable" in result.output
    assert not (tmp_path / "stimulus-sets").exists()


def test_evaluate_takes_a_published_set_by_name_and_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PSYCHOALIGN_CACHE", str(tmp_path / "empty-cache"))
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            "efficientnet_lite0",
            "--stimuli",
            "cue-conflict",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "psychoalign datasets fetch cue-conflict" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()
