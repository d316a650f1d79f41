"""Export: the game's data as lab-style ClickMe trial files that `clickmaps build` takes."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from psychoalign.datasets import stimulus_set
from psychoalign.errors import MissingFileError
from psychoalign.trials import read_trials
from psychoalign.web import create_app, export_trials

IMAGES = ["cat1.png", "dog1.png", "car1.png", "bird1.png"]


@pytest.fixture(scope="module")
def played(tmp_path_factory, observer):
    """Two participants who played every image (3 clicks each or fewer), in a database."""
    folder = tmp_path_factory.mktemp("game")
    four = stimulus_set("silhouette").subset(images=IMAGES).write(folder / "four")
    db = f"sqlite:///{folder / 'game.sqlite'}"
    app = create_app(four, db_url=db, model=observer, n_practice=1, n_images=3)
    with TestClient(app) as client:
        for pid in ("A", "B"):
            reply = client.post(
                "/api/participants", json={"consent": True, "params": {"PROLIFIC_PID": pid}}
            )
            auth = {"Authorization": f"Bearer {reply.json()['token']}"}
            while (
                trial := client.post("/api/trials/next", headers=auth).json()["trial"]
            ) is not None:
                for k in range(3):
                    answer = client.post(f"/api/trials/{trial['index']}/clicks", headers=auth,
                                         json={"x": 60.0 + 30 * k, "y": 112.0}).json()  # fmt: skip
                    if answer["ended"]:
                        break
                else:
                    client.post(f"/api/trials/{trial['index']}/end", headers=auth)
    return db, four, folder


def test_export_writes_trial_files_the_trial_reader_accepts(played, tmp_path):
    db, four, _ = played
    files = export_trials(db, tmp_path)
    names = [f.name for f in files]
    assert names == ["sub-web0001_ses-1.csv", "sub-web0001_ses-1_practice.csv",
                     "sub-web0002_ses-1.csv", "sub-web0002_ses-1_practice.csv"]  # fmt: skip
    trials = read_trials(tmp_path / "clickme")  # practice files are skipped, as the lab's
    assert len(trials) == 6 and set(trials.observer) == {"sub-web0001", "sub-web0002"}
    for row in trials.itertuples():
        clicks = json.loads(row.clicks)
        assert 1 <= len(clicks) <= 3 and [c["col"] for c in clicks] == [60, 90, 120][: len(clicks)]
        assert row.response == clicks[-1]["model_response"]
        assert int(row.points) == (25 - len(clicks) + 1 if row.recognised == "True" else 0)
    sidecar = json.loads(files[0].with_suffix(".json").read_text())
    assert sidecar["stimulus_set"]["checksum"] == four.checksum
    assert set(trials.prolific_pid) == {"A", "B"}


def test_clickmaps_build_takes_the_export_unchanged(played, tmp_path):
    from psychoalign.cli import app
    from psychoalign.cli.web import web_app
    from psychoalign.metrics.clickmaps import ClickMaps

    db, _, _ = played
    runner = CliRunner()
    exported = runner.invoke(web_app, ["export", "--db", db, "--out", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    maps_file = tmp_path / "maps.npz"
    built = runner.invoke(app, ["clickmaps", "build", str(tmp_path / "out" / "clickme"),
                                "--out", str(maps_file)])  # fmt: skip
    assert built.exit_code == 0, built.output
    maps = ClickMaps.load(maps_file)
    assert set(maps.images) <= set(IMAGES) and maps.maps.shape[1:] == (224, 224)
    assert len(maps.images) >= 3


def test_export_of_a_missing_database_names_it(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        export_trials(f"sqlite:///{tmp_path / 'none.sqlite'}", tmp_path / "out")
