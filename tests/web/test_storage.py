"""Storage: SQLite in WAL mode, the study recorded, state kept across a new app (restart)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from psychoalign.datasets import stimulus_set
from psychoalign.rules import ClickMeRules
from psychoalign.web import WebError, create_app, open_database


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    images = ["cat1.png", "dog1.png", "car1.png", "bird1.png"]
    return stimulus_set("silhouette").subset(images=images).write(folder / "four")


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'g.sqlite'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_a_new_app_on_the_database_continues_the_participant(tmp_path, observer, four):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    app = create_app(four, db_url=db, model=observer, n_practice=0)
    with TestClient(app) as client:
        reply = client.post("/api/participants", json={"consent": True})
        auth = {"Authorization": f"Bearer {reply.json()['token']}"}
        client.post("/api/trials/next", headers=auth)
        first = client.post("/api/trials/1/clicks", headers=auth, json={"x": 5, "y": 6}).json()
    restarted = create_app(four, db_url=db, model=observer, n_practice=0)
    with TestClient(restarted) as client:
        trial = client.post("/api/trials/next", headers=auth).json()["trial"]
        assert trial["index"] == (2 if first["ended"] else 1)
        if not first["ended"]:
            assert [(c["row"], c["col"]) for c in trial["clicks"]] == [(6, 5)]


def test_a_database_of_another_study_is_refused(tmp_path, observer, four):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    create_app(four, db_url=db, model=observer)
    with pytest.raises(WebError, match="played by other rules"):
        create_app(four, db_url=db, model=observer, rules=ClickMeRules(21, 224, 5, 20.0, 0.5))
    with pytest.raises(WebError, match="holds a study of stimulus set"):
        create_app(stimulus_set("edge"), db_url=db, model=observer)


def test_a_bad_database_url_is_one_sentence():
    with pytest.raises(WebError, match="is not a database URL"):
        open_database("nosuchdb://x")
