"""``psychoalign web serve`` and ``web export`` as a user runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from psychoalign.cli import app

runner = CliRunner()
LAB_SETTINGS = "click_budget: 7\nbubble_px: 31\ndurations_ms:\n  time_limit: 9000\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """The command serving the bundled silhouettes by a lab's settings file; its URL."""
    (tmp_path / "mylab.yaml").write_text(LAB_SETTINGS)
    port = _free_port()
    command = [
        sys.executable, "-c", "from psychoalign.cli import main; main()", "web", "serve",
        "--stimuli", "silhouette", "--db", f"sqlite:///{tmp_path / 'game.sqlite'}",
        "--port", str(port), "--images", "3", "--practice", "1",
        "--config", str(tmp_path / "mylab.yaml"),
    ]  # fmt: skip
    env = {**os.environ, "PSYCHOALIGN_WEB_ADMIN_TOKEN": "a-test-token-not-a-secret"}
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not answer within 120 s"
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_game_plays_by_the_lab_settings_and_exports_trial_files(served, tmp_path):
    joined = httpx.post(f"{served}/api/participants", json={"consent": True, "params": {}})
    assert joined.status_code == 201
    rules = joined.json()["rules"]
    assert (rules["click_budget"], rules["bubble_px"], rules["time_limit_s"]) == (7, 31, 9.0)
    assert rules["reference_px"] == 224 and rules["hidden_grey"] == 0.5  # the paradigm's
    headers = {"Authorization": f"Bearer {joined.json()['token']}"}
    trial = httpx.post(f"{served}/api/trials/next", headers=headers).json()["trial"]
    # 31 px at 224 px, on the silhouettes' own size.
    assert trial["bubble_diameter"] == pytest.approx(31 * trial["image_width"] / 224)
    click = httpx.post(
        f"{served}/api/trials/{trial['index']}/clicks", json={"x": 10.5, "y": 20.5}, headers=headers
    )
    assert click.status_code == 200 and click.json()["clicks_left"] == 6
    ended = httpx.post(f"{served}/api/trials/{trial['index']}/end", headers=headers)
    assert ended.status_code == 200  # only ended trials are exported, as the lab writes them
    exported = runner.invoke(
        app, ["web", "export", "--db", f"sqlite:///{tmp_path / 'game.sqlite'}", "--out",
              str(tmp_path / "out")],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    practice = (tmp_path / "out" / "clickme" / "sub-web0001_ses-1_practice.csv").read_text()
    assert practice.splitlines()[0].startswith("experiment,")
    assert ",7," in practice.splitlines()[1]  # the click budget of the row


def test_a_bad_lab_settings_file_is_refused_before_anything_starts(tmp_path):
    (tmp_path / "mylab.yaml").write_text("click_budgt: 7\n")
    result = runner.invoke(
        app, ["web", "serve", "--stimuli", "silhouette", "--config", str(tmp_path / "mylab.yaml"),
              "--db", f"sqlite:///{tmp_path / 'game.sqlite'}"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "click_budgt" in result.output and "click_budget" in result.output
    assert not (tmp_path / "game.sqlite").exists()
