"""Without ``--participant`` the PsychoPy dialog opens (Qt loads), and cancelling it says so."""

from __future__ import annotations

import subprocess
import time

from lab_support import lab_command, lab_env
from Xlib import X, display, protocol

TITLE = "psychoalign"


def _windows(window):
    for child in window.query_tree().children:
        yield child
        yield from _windows(child)


def _dialog(screen: display.Display, process: subprocess.Popen, seconds: float):
    """The dialog's window once it is shown, or None if the process ends or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        for window in _windows(screen.screen().root):
            if window.get_wm_name() == TITLE and window.get_attributes().map_state == X.IsViewable:
                return window
        time.sleep(0.2)
    return None


def _close(screen: display.Display, window) -> None:
    """Ask the window to close, as its title bar's close button does (WM_DELETE_WINDOW)."""
    protocols = screen.intern_atom("WM_PROTOCOLS")
    delete = screen.intern_atom("WM_DELETE_WINDOW")
    event = protocol.event.ClientMessage(
        window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
    )
    window.send_event(event, event_mask=X.NoEventMask)
    screen.flush()


def test_the_participant_dialog_opens_and_cancelling_it_is_one_sentence(xvfb, cache, tmp_path):
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            lab_command("noise_degraded", "--data-dir", str(tmp_path / "data")),
            env=lab_env(xvfb, cache),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        screen = display.Display(xvfb)
        try:
            window = _dialog(screen, process, seconds=60)
            assert window is not None, errors.read_text()[-2000:]
            _close(screen, window)
            process.wait(timeout=60)
        finally:
            screen.close()
            if process.poll() is None:
                process.kill()
                process.wait()
    text = errors.read_text()
    assert "Could not load the Qt platform plugin" not in text
    assert process.returncode == 2  # an error in what was given, not a crash (134)
    assert text.strip() == "error: --participant: no participant id was given."
