"""Tokens: a participant reaches only their own trials; the experimenter's routes need theirs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from psychoalign.datasets import stimulus_set
from psychoalign.web import WebError, admin_token, create_app, hash_token

ADMIN = "a-test-token-of-the-experimenter"


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    folder = tmp_path_factory.mktemp("set")
    images = ["cat1.png", "dog1.png", "car1.png", "bird1.png"]
    return stimulus_set("silhouette").subset(images=images).write(folder / "four")


@pytest.fixture
def client(tmp_path, observer, four, monkeypatch):
    monkeypatch.delenv("PSYCHOALIGN_WEB_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("PSYCHOALIGN_WEB_ADMIN_TOKEN_FILE", raising=False)
    app = create_app(four, db_url=f"sqlite:///{tmp_path / 'g.sqlite'}", model=observer,
                     admin_token=ADMIN, n_practice=0, click_rate=5)  # fmt: skip
    with TestClient(app) as client:
        yield client


def _join(client, pid):
    reply = client.post(
        "/api/participants", json={"consent": True, "params": {"PROLIFIC_PID": pid}}
    )
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def test_a_participant_cannot_read_or_change_anothers_trials(client):
    alice, bob = _join(client, "A"), _join(client, "B")
    client.post("/api/trials/next", headers=alice)
    client.post("/api/trials/1/clicks", headers=alice, json={"x": 10, "y": 10})
    # Bob's trial 1 exists but has not started; Alice's is not reachable with Bob's token.
    assert client.get("/api/trials/1", headers=bob).json()["clicks"] == []
    assert (
        client.post("/api/trials/1/clicks", headers=bob, json={"x": 1, "y": 1}).status_code == 409
    )
    assert client.get("/api/trials/99", headers=bob).status_code == 404
    assert len(client.get("/api/trials/1", headers=alice).json()["clicks"]) == 1
    assert client.get("/api/state", headers=bob).json()["participant"] == "web0002"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc", "Bearer "])
def test_requests_without_a_valid_token_are_refused(client, header):
    headers = {"Authorization": header} if header is not None else {}
    for method, path in (("get", "/api/state"), ("post", "/api/trials/next"),
                         ("get", "/api/trials/1/image")):  # fmt: skip
        assert getattr(client, method)(path, headers=headers).status_code == 401


def test_only_a_hash_of_the_token_is_stored(client, tmp_path):
    import sqlalchemy as sa

    reply = client.post("/api/participants", json={"consent": True})
    token = reply.json()["token"]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'g.sqlite'}")
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT token_hash FROM participants")).scalars().all()
    engine.dispose()
    assert hash_token(token) in stored and token not in stored and len(token) >= 43


def test_consent_is_needed_and_the_rate_is_limited(client):
    assert client.post("/api/participants", json={"consent": False}).status_code == 422
    auth = _join(client, "C")
    codes = [client.get("/api/state", headers=auth).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and 429 in codes


def test_the_experimenters_routes_need_the_experimenters_token(client):
    _join(client, "A")
    participant = _join(client, "B")
    for headers in ({}, participant, {"Authorization": "Bearer wrong-token-wrong-token"}):
        assert client.get("/api/admin/progress", headers=headers).status_code == 403
        assert client.get("/api/admin/export", headers=headers).status_code == 403
    progress = client.get("/api/admin/progress", headers={"Authorization": f"Bearer {ADMIN}"})
    assert progress.status_code == 200 and progress.json()["participants"] == 2
    assert [p["PROLIFIC_PID"] for p in progress.json()["per_participant"]] == ["A", "B"]


def test_the_admin_token_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("PSYCHOALIGN_WEB_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("PSYCHOALIGN_WEB_ADMIN_TOKEN_FILE", raising=False)
    assert admin_token() is None
    file = tmp_path / "token"
    file.write_text(ADMIN + "\n")
    monkeypatch.setenv("PSYCHOALIGN_WEB_ADMIN_TOKEN_FILE", str(file))
    assert admin_token() == ADMIN
    monkeypatch.setenv("PSYCHOALIGN_WEB_ADMIN_TOKEN", "short")
    with pytest.raises(WebError, match="has 5 characters; use at least 16"):
        admin_token()
