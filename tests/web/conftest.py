"""Fixtures of the web tests: a real PostgreSQL server, a live game server, headless Chromium.

The PostgreSQL server is started from Debian's packages (``apt-get install postgresql``,
in the Makefile's APT_PACKAGES) in a temporary folder, on a free loopback port, as an
unprivileged user when the tests run as root. Missing packages or a server that does
not start fail the tests that need it; they never skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "psychoalign"
ADMIN_TOKEN = "test-admin-token-not-a-secret"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that holds ``initdb`` and ``pg_ctl``."""
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")),
        key=lambda p: float(p.parent.name) if p.parent.name.replace(".", "").isdigit() else 0,
    )
    if not found:
        pytest.fail(
            "PostgreSQL's server programs (initdb, pg_ctl) are not in /usr/lib/postgresql/*/bin: "
            "install the Debian package 'postgresql' (make setup does).",
            pytrace=False,
        )
    return found[-1]


class PostgresServer:
    """A throwaway PostgreSQL cluster in ``root``, listening on ``127.0.0.1:port`` only."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir, self.root, self.port = bindir, root, port
        self.data, self.sockets, self.log = root / "data", root / "sockets", root / "server.log"
        # PostgreSQL refuses to run as root: run it as the package's 'postgres' user.
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.root,
        )

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(
                f"PostgreSQL {what} failed (exit {result.returncode}): "
                f"{result.stderr.strip()[-2000:]}\n{log}",
                pytrace=False,
            )

    def init(self) -> None:
        """``initdb``: a cluster whose superuser is ``PG_USER``, trusted on loopback only."""
        self.sockets.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        result = self._run(
            "initdb", "-D", str(self.data), "-U", PG_USER, "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        self._check(result, "initdb")

    def start(self) -> bool:
        """``pg_ctl start`` and wait until it accepts connections (False: port taken)."""
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60",
            "start",
        )  # fmt: skip
        if result.returncode != 0 and "could not bind" in self.log.read_text(errors="replace"):
            return False
        self._check(result, "pg_ctl start")
        return True

    def stop(self) -> None:
        """``pg_ctl stop -m immediate`` (the data is thrown away anyway)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (driver psycopg 3)."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement on the ``postgres`` database, outside a transaction."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(sql)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session, removed at the end."""
    bindir = _postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="psychoalign-pg-", dir="/tmp"))
    server = None
    try:
        for _ in range(5):
            server = PostgresServer(bindir, root, free_port())
            if not server.data.exists():
                server.init()
            if server.start():
                break
        else:
            pytest.fail("PostgreSQL found no free loopback port in 5 tries.", pytrace=False)
        yield server
    finally:
        if server is not None and server.data.exists():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request) -> Iterator[str]:
    """A fresh, empty database on the session's server (dropped afterwards)."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    postgres_server.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with contextlib.suppress(Exception):
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- live server


class LiveServer:
    """The game (:func:`create_app` under uvicorn) in a subprocess on a free loopback port.

    It can be killed (SIGKILL, as a crash) and started again on the same database and
    port, so that tests see what a restarted server keeps.
    """

    def __init__(self, stimuli: Path, db_url: str, log_dir: Path, *extra: str) -> None:
        self.stimuli, self.db_url, self.extra = stimuli, db_url, extra
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = ADMIN_TOKEN
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def command(self) -> list[str]:
        """The server's command: :func:`create_app` under uvicorn, options from ``extra``.

        ``extra`` holds ``key=value`` keyword arguments of ``create_app`` (values as
        Python literals); ``time_limit_s=...`` replaces the rules' time limit.
        """
        options = dict(item.split("=", 1) for item in self.extra)
        time_limit = options.pop("time_limit_s", None)
        arguments = ", ".join(f"{key}={value}" for key, value in options.items())
        script = (
            "import dataclasses, uvicorn\n"
            "from psychoalign.rules import LINSLEY_2019\n"
            "from psychoalign.web.app import create_app\n"
            f"rules = dataclasses.replace(LINSLEY_2019, time_limit_s={time_limit or 20.0})\n"
            f"app = create_app({str(self.stimuli)!r}, db_url={self.db_url!r}, rules=rules, "
            f"{arguments})\n"
            f"uvicorn.run(app, host='127.0.0.1', port={self.port}, log_level='warning')\n"
        )
        return [sys.executable, "-c", script]

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the server and wait until it answers (fail with its log if it does not)."""
        import httpx

        self.starts += 1
        env = {**os.environ, "PSYCHOALIGN_WEB_ADMIN_TOKEN": self.admin_token}
        env.pop("PSYCHOALIGN_WEB_ADMIN_TOKEN_FILE", None)
        log = self.log_dir / f"server-{self.starts}.log"
        with open(log, "wb") as handle:
            self.process = subprocess.Popen(
                self.command(), env=env, stdout=handle, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the web server exited ({self.process.returncode}) before answering:\n"
                    + log.read_text(errors="replace")[-3000:],
                    pytrace=False,
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        self.kill()
        pytest.fail(
            f"the web server did not answer within {timeout_s:.0f} s:\n"
            + log.read_text(errors="replace")[-3000:],
            pytrace=False,
        )

    def kill(self) -> None:
        """SIGKILL the server (no shutdown handlers run) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        """The output of every start so far."""
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.log_dir.glob("server-*.log"))
        )


@pytest.fixture(scope="session")
def web_stimuli(tmp_path_factory) -> Path:
    """A small real stimulus set: four silhouettes of four categories."""
    from psychoalign.datasets import stimulus_set

    four = stimulus_set("silhouette").subset(
        images=["cat1.png", "dog1.png", "car1.png", "bird1.png"]
    )
    return four.write(tmp_path_factory.mktemp("web-stimuli") / "four").path


@pytest.fixture
def live_server(web_stimuli, tmp_path) -> Iterator[callable]:
    """Start game servers: ``live_server(db_url=None, *extra_options) -> LiveServer``.

    The default database is a SQLite file in ``tmp_path``; every server started is
    stopped at the end.
    """
    servers: list[LiveServer] = []

    def start(db_url: str | None = None, *extra: str) -> LiveServer:
        url = db_url or f"sqlite:///{tmp_path / f'web-{len(servers)}.sqlite'}"
        logs = tmp_path / f"server-logs-{len(servers)}"
        logs.mkdir()
        server = LiveServer(web_stimuli, url, logs, *extra)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


# --------------------------------------------------------------------------- participants


class Player:
    """One simulated participant speaking the game's HTTP API (synchronous, httpx).

    Clicks land at seeded random pixels inside the image; every click that got an
    answer is kept in ``answered`` as ``(trial index, click index, row, col)``.
    """

    def __init__(self, url: str, seed: int, pid: str | None = None) -> None:
        import httpx
        import numpy as np

        self.client = httpx.Client(base_url=url, timeout=60)
        self.rng = np.random.default_rng(seed)
        self.pid = pid or f"pid-{seed}"
        self.token: str | None = None
        self.answered: list[tuple[int, int, int, int]] = []

    def join(self) -> dict:
        reply = self.client.post(
            "/api/participants",
            json={"consent": True, "params": {"PROLIFIC_PID": self.pid, "STUDY_ID": "s1"}},
        )
        assert reply.status_code == 201, reply.text
        self.token = reply.json()["token"]
        self.client.headers["Authorization"] = f"Bearer {self.token}"
        return reply.json()

    def state(self) -> dict:
        reply = self.client.get("/api/state")
        assert reply.status_code == 200, reply.text
        return reply.json()

    def next_trial(self) -> dict | None:
        reply = self.client.post("/api/trials/next")
        assert reply.status_code == 200, reply.text
        return reply.json()["trial"]

    def click(self, trial: dict) -> dict | None:
        """One click at a random pixel; the answer, or None when the trial had ended."""
        x = float(self.rng.uniform(0, trial["image_width"]))
        y = float(self.rng.uniform(0, trial["image_height"]))
        while True:
            reply = self.client.post(f"/api/trials/{trial['index']}/clicks", json={"x": x, "y": y})
            if reply.status_code != 429:  # too fast: wait as told, as the page does
                break
            time.sleep(float(reply.headers.get("Retry-After", "1")))
        if reply.status_code == 409:
            return None
        assert reply.status_code == 200, reply.text
        answer = reply.json()
        click = answer["click"]
        self.answered.append((trial["index"], click["index"], click["row"], click["col"]))
        return answer

    def play_trial(self, trial: dict, n_clicks: int) -> None:
        """Up to ``n_clicks`` clicks, then end the trial if it is still open."""
        for _ in range(n_clicks):
            answer = self.click(trial)
            if answer is None or answer["ended"]:
                return
        reply = self.client.post(f"/api/trials/{trial['index']}/end")
        assert reply.status_code in (200, 409), reply.text

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def players() -> Iterator[callable]:
    """Make players: ``players(url, seed) -> Player``; their connections closed at the end."""
    made: list[Player] = []

    def make(url: str, seed: int, pid: str | None = None) -> Player:
        made.append(Player(url, seed, pid))
        return made[-1]

    yield make
    for player in made:
        player.close()


def _stored_clicks(db_url: str) -> list[tuple[str, int, int, int, int]]:
    """Every click in the database as (PROLIFIC_PID, trial index, click index, row, col).

    Read with plain SQL, independent of the server's code.
    """
    import sqlalchemy as sa

    query = sa.text(
        'SELECT p.prolific_pid, t."index", c."index", c."row", c.col FROM clicks c '
        "JOIN trials t ON c.trial_id = t.id JOIN participants p ON t.participant_id = p.id "
        'ORDER BY p.prolific_pid, t."index", c."index"'
    )
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]
    finally:
        engine.dispose()


@pytest.fixture
def stored_clicks() -> callable:
    """``stored_clicks(db_url)``: every click in a database, read with plain SQL."""
    return _stored_clicks
