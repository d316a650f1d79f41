"""50 participants at once on loopback: the database holds exactly the clicks answered."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import numpy as np

N_PARTICIPANTS = 50
N_IMAGES = 2
CLICKS_PER_IMAGE = 4


async def _participant(client: httpx.AsyncClient, number: int, answered: list) -> None:
    rng = np.random.default_rng(number)
    pid = f"load-{number:02d}"
    reply = await client.post(
        "/api/participants", json={"consent": True, "params": {"PROLIFIC_PID": pid}}
    )
    assert reply.status_code == 201, reply.text
    headers = {"Authorization": f"Bearer {reply.json()['token']}"}
    while True:
        reply = await client.post("/api/trials/next", headers=headers)
        assert reply.status_code == 200, reply.text
        trial = reply.json()["trial"]
        if trial is None:
            return
        for _ in range(CLICKS_PER_IMAGE):
            x = float(rng.uniform(0, trial["image_width"]))
            y = float(rng.uniform(0, trial["image_height"]))
            while True:
                reply = await client.post(
                    f"/api/trials/{trial['index']}/clicks", json={"x": x, "y": y}, headers=headers
                )
                if reply.status_code != 429:  # too fast: wait as told, as the page does
                    break
                await asyncio.sleep(float(reply.headers.get("Retry-After", "1")))
            if reply.status_code == 409:  # ended (e.g. time up under load)
                break
            assert reply.status_code == 200, reply.text
            click = reply.json()["click"]
            answered.append((pid, trial["index"], click["index"], click["row"], click["col"]))
            if reply.json()["ended"]:
                break
        else:
            await client.post(f"/api/trials/{trial['index']}/end", headers=headers)


async def _everyone(url: str, answered: list) -> None:
    limits = httpx.Limits(max_connections=N_PARTICIPANTS)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await asyncio.wait_for(
            asyncio.gather(*(_participant(client, n, answered) for n in range(N_PARTICIPANTS))),
            timeout=400,
        )


def test_fifty_concurrent_participants_lose_and_duplicate_no_click(live_server, stored_clicks):
    server = live_server(None, f"n_images={N_IMAGES}", "n_practice=0", "time_limit_s=120.0")
    answered: list = []
    asyncio.run(_everyone(server.url, answered))
    stored = stored_clicks(server.db_url)
    assert len(answered) >= N_PARTICIPANTS  # every participant got answers
    assert Counter(stored) == Counter(answered)  # none lost, none duplicated, none extra
    progress = httpx.get(
        server.url + "/api/admin/progress",
        headers={"Authorization": f"Bearer {server.admin_token}"},
    ).json()
    assert progress["participants"] == progress["completed"] == N_PARTICIPANTS
    assert progress["clicks"] == len(answered)
