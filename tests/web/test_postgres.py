"""The game on a real PostgreSQL server: the same clicks export the same trial files as SQLite."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pandas as pd

#: What depends on the clock (seconds since a trial's start, response times).
CLOCK = ("rt", "duration_s", "started", "ended", "consent_time", "completed")


def _play(server, players, stored_clicks) -> dict[str, pd.DataFrame]:
    """Two participants, seeded clicks, every trial; the exported CSVs by file name."""
    for seed in (1, 2):
        player = players(server.url, seed=seed, pid=f"pg-{seed}")
        player.join()
        while (trial := player.next_trial()) is not None:
            player.play_trial(trial, 3)
        assert player.state()["completed"]
        stored = [c[1:] for c in stored_clicks(server.db_url) if c[0] == player.pid]
        assert stored == player.answered
    reply = httpx.get(
        server.url + "/api/admin/export",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=60,
    )
    assert reply.status_code == 200, reply.text
    files = zipfile.ZipFile(io.BytesIO(reply.content))
    return {
        name: _without_clock(pd.read_csv(files.open(name)))
        for name in sorted(files.namelist())
        if name.endswith(".csv")
    }


def _without_clock(frame: pd.DataFrame) -> pd.DataFrame:
    clicks = [
        json.dumps([{k: v for k, v in c.items() if k != "t"} for c in json.loads(cell)])
        for cell in frame["clicks"]
    ]
    return frame.drop(columns=[c for c in CLOCK if c in frame]).assign(clicks=clicks)


def test_postgres_stores_the_game_and_exports_what_sqlite_does(
    postgres_url, live_server, players, stored_clicks
):
    options = ("n_images=2", "n_practice=1", "max_batch=1", "time_limit_s=120.0")
    on_postgres = _play(live_server(postgres_url, *options), players, stored_clicks)
    on_sqlite = _play(live_server(None, *options), players, stored_clicks)
    assert sorted(on_postgres) == sorted(on_sqlite)
    assert any("practice" in name for name in on_postgres)
    for name, frame in on_postgres.items():
        assert len(frame) > 0
        pd.testing.assert_frame_equal(frame, on_sqlite[name])


def test_the_postgres_server_is_real(postgres_url):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version()")).scalar()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL")
