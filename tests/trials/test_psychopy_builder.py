"""Real PsychoPy Builder output: compile the fixture experiments, run them, read their CSVs.

The two experiments of tests/data/psychopy-builder (made with psychopy.experiment) are
compiled by PsychoPy's own compiler and run on an Xvfb display of this module; the
answers are real key presses and mouse clicks sent with XTEST once the window shows the
screen they answer (red instructions; a new image for each trial).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from psychoalign.errors import TrialDataError
from psychoalign.trials import read_trials

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "psychopy-builder"
RUN_TIMEOUT_S = 60
# conditions.csv, in the loop's (sequential) order.
CATEGORIES = ["cat", "dog", "cat", "dog"]
IMAGES = ["cat1.png", "dog1.png", "cat2.png", "dog2.png"]
KEYS = ["f", "j", "j", "f"]  # f = cat, j = dog: right, right, wrong, wrong
BUTTONS = ["cat", "dog", "dog", "cat"]
# Window 640 x 480, height units: the buttons at (+-0.3, -0.35) are at these pixels.
BUTTON_PIXELS = {"cat": (320 - 144, 240 + 168), "dog": (320 + 144, 240 + 168)}


@pytest.fixture(scope="module")
def display():
    """An Xvfb display of this module's own (xdist workers each start one)."""
    from Xlib import display as xdisplay
    from Xlib.error import DisplayConnectionError

    number = 300 + os.getpid() % 600
    while Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
        number += 1
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            connection = xdisplay.Display(f":{number}")
            break
        except DisplayConnectionError:
            assert time.monotonic() < deadline and server.poll() is None, "Xvfb did not start"
            time.sleep(0.1)
    yield f":{number}", connection
    connection.close()
    server.terminate()
    server.wait(timeout=10)


class _Driver:
    """Answers a running Builder experiment through XTEST, screen by screen."""

    def __init__(self, connection, process: subprocess.Popen):
        from Xlib import XK, X
        from Xlib.ext import xtest

        self.d, self.X, self.XK, self.xtest, self.process = connection, X, XK, xtest, process
        self.deadline = time.monotonic() + RUN_TIMEOUT_S
        self.window = self._wait(self._window)

    def _wait(self, probe):
        while self.process.poll() is None and time.monotonic() < self.deadline:
            found = probe()
            if found is not None:
                return found
            time.sleep(0.03)
        raise AssertionError(f"the experiment ended or hung (exit code {self.process.poll()})")

    def _window(self):
        root = self.d.screen().root
        for window in root.query_tree().children:
            attributes = window.get_attributes()
            if attributes.map_state == self.X.IsViewable and window.get_wm_name() == "PsychoPy":
                return window
        return None

    def pixels(self) -> np.ndarray:
        geometry = self.window.get_geometry()
        raw = self.window.get_image(
            0, 0, geometry.width, geometry.height, self.X.ZPixmap, 0xFFFFFFFF
        ).data
        return np.frombuffer(raw, np.uint8).reshape(geometry.height, geometry.width, 4)[..., 2::-1]

    def wait_for_instructions(self) -> None:
        """The instructions are the only red text."""
        self._wait(lambda: True if self._red(self.pixels()) else None)

    def wait_for_new_image(self, previous: np.ndarray | None) -> np.ndarray:
        def probe():
            shown = self.pixels()
            if _shows_image(shown) and (previous is None or not np.array_equal(shown, previous)):
                return shown
            return None

        shown = self._wait(probe)
        time.sleep(0.1)  # the keyboard and mouse start on the image's flip
        return shown

    @staticmethod
    def _red(pixels: np.ndarray) -> bool:
        return int(((pixels[..., 0] > 200) & (pixels[..., 1] < 80)).sum()) > 20

    def press(self, key: str) -> None:
        code = self.d.keysym_to_keycode(self.XK.string_to_keysym(key))
        for event in (self.X.KeyPress, self.X.KeyRelease):
            self.xtest.fake_input(self.d, event, code)
            self.d.sync()
            time.sleep(0.03)

    def click(self, x: int, y: int) -> None:
        origin = self.window.translate_coords(self.d.screen().root, 0, 0)
        self.xtest.fake_input(self.d, self.X.MotionNotify, x=x - origin.x, y=y - origin.y)
        self.d.sync()
        time.sleep(0.05)
        # Builder polls the button once a frame: hold it over several frames.
        for event, hold in ((self.X.ButtonPress, 0.2), (self.X.ButtonRelease, 0.05)):
            self.xtest.fake_input(self.d, event, 1)
            self.d.sync()
            time.sleep(hold)


def _shows_image(pixels: np.ndarray) -> bool:
    """The edge images are mostly white; the image sits at (0, 0.1) in height units."""
    height, width = pixels.shape[:2]
    centre = pixels[height // 2 - 108 : height // 2 - 28, width // 2 - 40 : width // 2 + 40]
    return float((centre.min(axis=2) > 200).mean()) > 0.5


def _run_builder(display, tmp_path: Path, name: str, answer) -> Path:
    """Compile ``name``.psyexp with PsychoPy's compiler, run it, answer it; its CSV."""
    from psychopy.scripts.psyexpCompile import compileScript

    work = tmp_path / "experiment"
    shutil.copytree(FIXTURES, work)
    script = work / f"{name}.py"
    compileScript(str(work / f"{name}.psyexp"), None, str(script))
    name_of_display, connection = display
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=work,
        env={**os.environ, "DISPLAY": name_of_display},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        driver = _Driver(connection, process)
        driver.wait_for_instructions()
        driver.press("space")
        shown = None
        for response in answer:
            shown = driver.wait_for_new_image(shown)
            if response in BUTTON_PIXELS:
                driver.click(*BUTTON_PIXELS[response])
            else:
                driver.press(response)
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    (csv,) = (work / "data").glob(f"p01_{name}_*.csv")
    return csv


@pytest.fixture(scope="module")
def keyboard_csv(display, tmp_path_factory) -> Path:
    return _run_builder(display, tmp_path_factory.mktemp("keys"), "edge_keys", KEYS)


@pytest.fixture(scope="module")
def mouse_csv(display, tmp_path_factory) -> Path:
    return _run_builder(display, tmp_path_factory.mktemp("mouse"), "edge_mouse", BUTTONS)


def test_keyboard_run_reads_through_the_yaml_mapping(keyboard_csv):
    trials = read_trials(keyboard_csv, columns=FIXTURES / "keyboard.yaml")
    assert len(trials) == 4  # 6 rows: instructions, 4 trials, thanks
    assert trials.trial.tolist() == [1, 2, 3, 4]
    assert set(trials.observer) == {"p01"} and set(trials.observer_kind) == {"human"}
    assert set(trials.session) == {2}  # Builder's "002"
    assert set(trials.experiment) == {"edge_keys"}
    assert trials.image.tolist() == IMAGES and trials.stimulus.tolist() == IMAGES
    assert trials.category.tolist() == CATEGORIES and set(trials.condition) == {"edge"}
    assert trials.response.tolist() == ["cat", "dog", "dog", "cat"]
    assert trials.correct.tolist() == [True, True, False, False]
    assert all(math.isfinite(rt) and rt > 0 for rt in trials.rt)
    assert set(trials.frame_rate) == {"60"}  # the experiment's fixed frame rate
    assert set(trials.participant) == {"p01"} and set(trials.exp_name) == {"edge_keys"}
    assert set(trials.psychopy_version) == {__import__("psychopy").__version__}
    assert trials.date.str.fullmatch(r"\d{4}-\d\d-\d\d_\d\dh\d\d\.\d\d\.\d{3}").all()
    assert trials.attrs["read_notes"] == []


def test_keyboard_preset_keeps_the_keys_and_their_rts(keyboard_csv):
    trials = read_trials(keyboard_csv, columns="psychopy-keyboard")
    assert trials.response.tolist() == KEYS
    assert trials.correct.tolist() == [False] * 4  # keys are not categories
    assert (
        trials.rt.tolist()
        == read_trials(keyboard_csv, columns="response=key_resp.keys,rt=key_resp.rt").rt.tolist()
    )


def test_keyboard_scoring_contradicting_the_responses_table_names_the_row(keyboard_csv):
    with pytest.raises(TrialDataError) as error:
        read_trials(
            keyboard_csv,
            columns={
                "columns": {"response": "key_resp.keys"},
                "responses": {"f": "dog", "j": "cat"},
            },
        )
    assert str(error.value).startswith(
        f"{keyboard_csv}: row 3: PsychoPy scored the response correct"
    )


def test_builder_file_without_a_mapping_says_which_mapping_is_needed(keyboard_csv):
    with pytest.raises(TrialDataError) as error:
        read_trials(keyboard_csv)
    message = str(error.value)
    assert message.startswith(f"{keyboard_csv}: is a PsychoPy Builder file")
    assert "--columns response=key_resp.keys" in message and "psychopy-mouse" in message
    assert "key_resp_keys" in message and "key_resp_rt" in message


def test_missing_mapped_column_names_file_column_and_mapping(keyboard_csv):
    with pytest.raises(TrialDataError) as error:
        read_trials(keyboard_csv, columns="psychopy-mouse")
    assert str(error.value).startswith(
        f"{keyboard_csv}: column 'mouse.clicked_name' (mapped to 'response' by preset "
        "'psychopy-mouse') is not in the file"
    )


def test_mouse_run_takes_the_last_click_of_each_list(mouse_csv):
    trials = read_trials(mouse_csv, columns=FIXTURES / "mouse.yaml")
    assert len(trials) == 4
    assert trials.response.tolist() == BUTTONS
    assert trials.correct.tolist() == [True, True, False, False]
    assert all(math.isfinite(rt) and rt > 0 for rt in trials.rt)
    assert set(trials.session) == {2} and set(trials.experiment) == {"edge_mouse"}
    preset = read_trials(mouse_csv, columns="psychopy-mouse")
    assert preset.response.tolist() == [f"{button}_button" for button in BUTTONS]
    assert preset.rt.tolist() == trials.rt.tolist()
