"""The game over HTTP: flow, points, budget and timer by the rules, forged clicks refused,
clicks committed before the answer, micro-batched model calls."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from psychoalign.datasets import stimulus_set
from psychoalign.rules import ClickMeRules, reveal
from psychoalign.web import Trial, create_app

#: One bubble reveals the whole image: the model's answer is its answer on the image.
WHOLE = ClickMeRules(bubble_px=10_000, reference_px=224, click_budget=5, time_limit_s=20.0,
                     hidden_grey=0.5)  # fmt: skip
TINY = ClickMeRules(bubble_px=1, reference_px=224, click_budget=3, time_limit_s=20.0,
                    hidden_grey=0.5)  # fmt: skip


@pytest.fixture(scope="module")
def right_and_wrong(tmp_path_factory, observer):
    """Silhouettes the model recognises whole (4) and one it gets wrong whole, as sets."""
    silhouette = stimulus_set("silhouette")
    frame = silhouette.frame()
    pixels = np.stack([silhouette.load(s) for s in frame["stimulus"]])
    answers, _ = observer.respond(pixels)
    right = frame["image"][np.array(answers) == frame["category"]].tolist()
    folder = tmp_path_factory.mktemp("sets")
    return silhouette.subset(images=right[:4]).write(folder / "right")


def _client(app):
    return TestClient(app)


def _join(client, pid="p1"):
    reply = client.post(
        "/api/participants", json={"consent": True, "params": {"PROLIFIC_PID": pid}}
    )
    assert reply.status_code == 201, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}, reply.json()


def test_a_participant_plays_practice_then_trials_to_a_completion_code(
    tmp_path, observer, right_and_wrong
):
    app = create_app(
        right_and_wrong,
        db_url=f"sqlite:///{tmp_path / 'g.sqlite'}",
        model=observer,
        rules=WHOLE,
        n_images=2,
        n_practice=1,
        completion_url="https://x.test/?cc={code}",
    )
    with _client(app) as client:
        auth, joined = _join(client)
        assert joined["participant"] == "web0001" and joined["n_trials"] == 2
        scores = []
        for expected_index in (1, 2, 3):
            trial = client.post("/api/trials/next", headers=auth).json()["trial"]
            assert trial["index"] == expected_index and trial["practice"] == (expected_index == 1)
            assert trial["clicks_left"] == 5 and trial["bubble_diameter"] == 10_000.0
            answer = client.post(f"/api/trials/{trial['index']}/clicks", headers=auth,
                                 json={"x": 100.5, "y": 20.2}).json()  # fmt: skip
            # recognised at the first click: click_budget - 1 + 1 = 5 points (by hand)
            assert answer["ended"] and answer["recognised"] and answer["points"] == 5
            assert answer["click"]["row"] == 20 and answer["click"]["col"] == 100
            scores.append(answer["score"])
        assert scores == [5, 5, 10]  # the practice's score, then the trials' running score
        done = client.post("/api/trials/next", headers=auth).json()
        assert done["trial"] is None and done["completed"]
        assert done["redirect_url"] == f"https://x.test/?cc={done['completion_code']}"
        state = client.get("/api/state", headers=auth).json()
        assert state["score"] == 10 and state["completed"] and state["trials_done"] == 3
        for page in ("/", "/instructions", "/play", "/done"):
            assert client.get(page).status_code == 200


def test_the_budget_ends_a_trial_with_no_points_and_refuses_more_clicks(
    tmp_path, observer, right_and_wrong
):
    app = create_app(right_and_wrong, db_url=f"sqlite:///{tmp_path / 'g.sqlite'}", model=observer,
                     rules=TINY, n_images=1, n_practice=0)  # fmt: skip
    with _client(app) as client:
        auth, _ = _join(client)
        trial = client.post("/api/trials/next", headers=auth).json()["trial"]
        answers = []
        for k in range(5):
            reply = client.post("/api/trials/1/clicks", headers=auth, json={"x": 3 + k, "y": 3})
            answers.append(reply)
            if reply.status_code == 200 and reply.json()["ended"]:
                break
        last = answers[-1].json()
        n = len(answers)
        if last["recognised"]:  # a 1-px bubble at the corner: the rules' points by hand
            assert last["points"] == 3 - n + 1
        else:
            assert n == 3 and last["points"] == 0 and last["clicks_left"] == 0
        again = client.post("/api/trials/1/clicks", headers=auth, json={"x": 50, "y": 50})
        assert again.status_code == 409 and "has ended" in again.json()["detail"]
        assert client.get("/api/trials/1", headers=auth).json()["clicks_left"] == 3 - n
        assert trial["time_limit_s"] == 20.0


def test_the_server_clock_ends_a_trial_at_the_time_limit(tmp_path, observer, right_and_wrong):
    rules = ClickMeRules(21, 224, 25, 0.5, 0.5)
    app = create_app(right_and_wrong, db_url=f"sqlite:///{tmp_path / 'g.sqlite'}", model=observer,
                     rules=rules, n_images=1, n_practice=0)  # fmt: skip
    with _client(app) as client:
        auth, _ = _join(client)
        client.post("/api/trials/next", headers=auth)
        time.sleep(0.6)
        late = client.post("/api/trials/1/clicks", headers=auth, json={"x": 5, "y": 5})
        assert late.status_code == 409
        trial = client.get("/api/trials/1", headers=auth).json()
        assert trial["ended"] and trial["points"] == 0 and trial["clicks"] == []


@pytest.mark.parametrize(
    "body", [{"x": 224, "y": 5}, {"x": -1, "y": 5}, {"x": 5, "y": 1e9}, {"x": "5", "y": 5},
             {"x": 5}, {"x": 5, "y": 5, "points": 25}],
)  # fmt: skip
def test_forged_clicks_are_refused_and_not_stored(tmp_path, observer, right_and_wrong, body):
    db = tmp_path / "g.sqlite"
    app = create_app(right_and_wrong, db_url=f"sqlite:///{db}", model=observer, n_practice=0)
    with _client(app) as client:
        auth, _ = _join(client)
        client.post("/api/trials/next", headers=auth)
        assert client.post("/api/trials/1/clicks", headers=auth, json=body).status_code == 422
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM clicks")).scalar() == 0
    engine.dispose()


def test_every_click_is_committed_before_its_answer(tmp_path, observer, right_and_wrong):
    db = tmp_path / "g.sqlite"
    app = create_app(right_and_wrong, db_url=f"sqlite:///{db}", model=observer, rules=TINY,
                     n_practice=0)  # fmt: skip
    with _client(app) as client:
        auth, _ = _join(client)
        client.post("/api/trials/next", headers=auth)
        for k in range(2):
            answer = client.post("/api/trials/1/clicks", headers=auth, json={"x": 7 + k, "y": 9})
            assert answer.status_code == 200
            engine = sa.create_engine(f"sqlite:///{db}")  # a fresh connection, plain SQL
            with engine.connect() as connection:
                stored = connection.execute(
                    sa.text('SELECT "index", "row", col, model_response FROM clicks ORDER BY id')
                ).all()
            engine.dispose()
            click = answer.json()["click"]
            assert stored[-1] == (click["index"], 9, 7 + k, click["model_response"])
            if answer.json()["ended"]:
                break


def test_concurrent_clicks_share_forward_passes_with_the_answers_of_one_at_a_time(
    tmp_path, observer, right_and_wrong
):
    import httpx

    app = create_app(right_and_wrong, db_url=f"sqlite:///{tmp_path / 'g.sqlite'}", model=observer,
                     rules=TINY, n_practice=0, batch_window_ms=300)  # fmt: skip
    batcher = app.state.web.batcher
    n = 8

    async def play():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            auths, trials = [], []
            for _ in range(n):
                reply = await client.post("/api/participants", json={"consent": True})
                auth = {"Authorization": f"Bearer {reply.json()['token']}"}
                trials.append((await client.post("/api/trials/next", headers=auth)).json()["trial"])
                auths.append(auth)
            clicks = [
                client.post(f"/api/trials/{t['index']}/clicks", headers=a, json={"x": 9, "y": k})
                for k, (a, t) in enumerate(zip(auths, trials, strict=True))
            ]  # fmt: skip
            replies = await asyncio.gather(*clicks)
            return trials, [r.json() for r in replies]

    trials, answers = asyncio.run(play())
    assert sum(batcher.batch_sizes) == n and len(batcher.batch_sizes) < n
    game = app.state.web.game
    for k, (trial, answer) in enumerate(zip(trials, answers, strict=True)):
        with Session(game.engine) as session:
            stimulus = session.scalar(
                select(Trial.stimulus).where(Trial.participant_id == k + 1, Trial.index == 1)
            )
        pixels = game.pixels(stimulus)
        alone = reveal(pixels, [(k, 9)], TINY.bubble_diameter(224), 0.5)
        [response], scores = observer.respond(alone[None])
        target = observer.mapping.categories.index(trial["category"])
        assert answer["click"]["model_response"] == response
        assert answer["click"]["model_score"] == pytest.approx(float(scores[0, target]), abs=1e-5)
