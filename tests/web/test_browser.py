"""Headless Chromium plays the online ClickMe game by clicking on its canvas.

Three participants per window size go through consent, instructions, practice and every
image to the completion code; every click must then be in the database, at the image
pixel under the point the browser clicked (computed here from the canvas's displayed
size, independently of the page's own conversion).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from support import headless_chromium

# Screenshots of every page go where $PSYCHOALIGN_SCREENSHOTS says (none when unset).
SCREENS = os.environ.get("PSYCHOALIGN_SCREENSHOTS")
# Offsets from the canvas's top-left corner, as fractions of its displayed size.
SPOTS = [(0.5, 0.5), (0.45, 0.55), (0.55, 0.45), (0.4, 0.4), (0.6, 0.6), (0.5, 0.35),
         (0.35, 0.5), (0.65, 0.5), (0.5, 0.65), (0.3, 0.3), (0.7, 0.7), (0.25, 0.6)]  # fmt: skip
RECORD_CLICKS = """
window.__clicks = [];
if (!window.__recording) {
  window.__recording = true;
  document.getElementById('board').addEventListener('click',
      e => window.__clicks.push([e.clientX, e.clientY]), {capture: true});
}
"""


def _driver(profile: Path, width: int, height: int, scale: float):
    return headless_chromium(
        profile, f"--window-size={width},{height}", f"--force-device-scale-factor={scale}"
    )


def _wait(driver, condition, what: str, timeout: float = 60.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, what)


def _shot(driver, name: str) -> None:
    if SCREENS:
        Path(SCREENS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENS) / f"{name}.png"))


def _play_trial(driver, expected: list, tag: str, shoot: bool) -> None:
    """Click the canvas until the feedback panel shows; record where each click landed."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "board")
    _wait(driver, lambda d: canvas.get_attribute("data-ready") == "yes", "the image")
    driver.execute_script(RECORD_CLICKS)
    panel = driver.find_element(By.ID, "panel")
    for n, (fx, fy) in enumerate(SPOTS * 3):
        if panel.is_displayed():
            break
        left, top, width, height, backing, dpr = driver.execute_script(
            "const c = arguments[0], r = c.getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height, c.width, window.devicePixelRatio];",
            canvas,
        )
        # Drawn sharp: one canvas pixel per device pixel.
        assert backing == round(width * dpr)
        done = int(canvas.get_attribute("data-clicks"))
        dx, dy = round(width * (fx - 0.5)), round(height * (fy - 0.5))
        ActionChains(driver).move_to_element_with_offset(canvas, dx, dy).click().perform()
        _wait(driver, lambda d, k=n: len(d.execute_script("return window.__clicks")) > k, "a click")
        client_x, client_y = driver.execute_script("return window.__clicks")[n]
        # The browser clicked where it was asked to, to within a pixel.
        assert abs(client_x - (left + width / 2 + dx)) <= 1
        assert abs(client_y - (top + height / 2 + dy)) <= 1
        expected.append((client_x - left, client_y - top, width, height))
        _wait(driver, lambda d, k=done: int(canvas.get_attribute("data-clicks")) > k
              or panel.is_displayed(), "the server's answer")  # fmt: skip
        if shoot and n == 1:
            _shot(driver, f"{tag}-play")
    _wait(driver, lambda d: panel.is_displayed(), "the feedback after the image")


@pytest.mark.parametrize(("width", "height", "scale"), [(1280, 900, 1.0), (390, 760, 2.0)])
def test_three_participants_play_to_the_completion_code(
    live_server, tmp_path, width, height, scale
):
    from selenium.webdriver.common.by import By
    from sqlalchemy import create_engine, text

    server = live_server(
        None, "n_images=2", "n_practice=1", "completion_url='/api/health?cc={code}'"
    )
    tag = f"{width}x{height}"
    codes = []
    for p in range(3):
        driver = _driver(tmp_path / f"profile-{p}", width, height, scale)
        expected: list = []
        try:
            shoot = p == 0
            driver.get(f"{server.url}/?PROLIFIC_PID=pid{p}&STUDY_ID=study&SESSION_ID=s{p}")
            if shoot:
                _shot(driver, f"{tag}-1-consent")
            driver.find_element(By.ID, "agree").click()
            _wait(driver, lambda d: "/instructions" in d.current_url, "the instructions")
            if shoot:
                _shot(driver, f"{tag}-2-instructions")
            driver.find_element(By.ID, "start").click()
            for t in range(3):
                _wait(driver, lambda d: "/play" in d.current_url, "the game")
                _play_trial(driver, expected, f"{tag}-3-trial{t}", shoot)
                if shoot:
                    _shot(driver, f"{tag}-4-feedback{t}")
                if p == 1 and t == 0:  # the canvas follows the window (and the clicks too)
                    driver.set_window_size(width * 2 // 3, height * 2 // 3)
                driver.find_element(By.ID, "panel-next").click()
            _wait(driver, lambda d: "/done" in d.current_url, "the completion page")
            _wait(driver, lambda d: d.find_element(By.ID, "code").text not in ("", "…"), "code")
            if shoot:
                _shot(driver, f"{tag}-5-done")
            codes.append(driver.find_element(By.ID, "code").text)
            _wait(driver, lambda d: "cc=" in d.current_url, "the redirect", timeout=20)
            assert driver.current_url.endswith(f"cc={codes[-1]}")
        finally:
            driver.quit()
        engine = create_engine(server.db_url)
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT c.x, c.y, c.row, c.col, t.image_width, t.image_height FROM clicks c"
                " JOIN trials t ON c.trial_id = t.id JOIN participants q ON t.participant_id = q.id"
                " WHERE q.prolific_pid = :pid ORDER BY t.\"index\", c.\"index\""
            ), {"pid": f"pid{p}"}).all()  # fmt: skip
        engine.dispose()
        assert len(rows) == len(expected)
        for row, (ox, oy, w, h) in zip(rows, expected, strict=True):
            want_col = math.floor(ox * row.image_width / w)
            want_row = math.floor(oy * row.image_height / h)
            assert (row.row, row.col) == (want_row, want_col)
    assert len(codes) == 3
