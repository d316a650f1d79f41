"""The server killed mid-session (SIGKILL) and restarted keeps every click it answered."""

from __future__ import annotations

import threading
import time


def test_a_killed_server_keeps_every_answered_click_and_the_participant_continues(
    live_server, players, stored_clicks
):
    server = live_server(None, "n_images=3", "n_practice=0", "time_limit_s=600.0")
    player = players(server.url, seed=7, pid="restart-1")
    player.join()
    trial = player.next_trial()
    for _ in range(3):
        answer = player.click(trial)
        if answer["ended"]:  # recognised: take the next image, still mid-session
            trial = player.next_trial()
    before = player.state()
    # Clicks in flight while the server is killed: each either answered (then stored) or not.
    clicker = threading.Thread(target=_click_until_refused, args=(player, trial))
    clicker.start()
    while len(player.answered) < 5:
        assert clicker.is_alive(), "the clicks stopped before the kill"
        time.sleep(0.01)
    server.kill()
    clicker.join(timeout=60)
    stored = [click[1:] for click in stored_clicks(server.db_url)]
    assert set(player.answered) <= set(stored)
    assert len(stored) - len(player.answered) <= 1  # at most the click in flight
    server.start()
    after = player.state()  # the same token still works
    assert after["participant"] == before["participant"]
    current = player.next_trial()
    assert current is not None
    kept = [(c["index"], c["row"], c["col"]) for c in current["clicks"]]
    assert kept == [click[1:] for click in stored if click[0] == current["index"]]
    assert current["clicks_left"] == current["click_budget"] - len(kept)
    player.play_trial(current, 2)  # and goes on playing
    while (trial := player.next_trial()) is not None:
        player.play_trial(trial, 2)
    assert player.state()["completed"]
    assert set(player.answered) <= {c[1:] for c in stored_clicks(server.db_url)}


def _click_until_refused(player, trial) -> None:
    import httpx

    try:
        while True:
            answer = player.click(trial)
            if answer is None or answer["ended"]:
                trial = player.next_trial()
                if trial is None:
                    return
    except (httpx.HTTPError, AssertionError):
        return
