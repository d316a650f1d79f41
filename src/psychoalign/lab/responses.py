"""Responses: the psychtoolbox keyboard (asserted), and the 4 x 4 icon response screen."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psychoalign.lab.display import Display
from psychoalign.lab.errors import LabError, SessionAborted

__all__ = ["Answer", "IconScreen", "Responses", "Restart", "require_psychtoolbox_keyboard"]

ESCAPE = "escape"


def require_psychtoolbox_keyboard() -> Any:
    """A ``psychopy.hardware.keyboard.Keyboard`` on the psychtoolbox backend, or a LabError.

    PsychoPy keeps the name of a requested backend even when psychtoolbox cannot be
    imported (and then reads no keys at all), so both the import and the backend in use
    are checked: there is no silent fallback to less precise timing.
    """
    from psychopy.hardware import keyboard

    if not getattr(keyboard, "havePTB", False):
        raise LabError(
            "keyboard: psychtoolbox cannot be imported, so key presses would not be timed by "
            "its keyboard queue; install psychtoolbox (pip) and libjack-jackd2-0 (apt)."
        )
    device = keyboard.Keyboard(backend="ptb")
    if device.getBackend() != "ptb":
        raise LabError(
            f"keyboard: PsychoPy uses the '{device.getBackend()}' backend, not psychtoolbox "
            "('ptb')."
        )
    return device


@dataclass(frozen=True)
class Answer:
    """A response: the category, its time in s, what was pressed or clicked, the screen onset."""

    response: str
    rt: float
    raw: str = ""
    onset: float = float("nan")


class Restart(Exception):  # noqa: N818 - control flow, not an error
    """Esc was pressed and the session continues: the trial in progress runs again."""


class Responses:
    """Waiting for keys or clicks frame by frame, with Esc to abort after confirmation."""

    def __init__(self, display: Display, keyboard: Any):
        from psychopy import event, visual

        self.display = display
        self.keyboard = keyboard
        self.mouse = event.Mouse(win=display.win, visible=False)
        self._presses: deque[tuple[float, float, float]] = deque()
        display.win.winHandle.push_handlers(on_mouse_press=self._on_mouse_press)
        self._confirm = visual.TextStim(
            display.win,
            text="Quit the session? Completed trials are saved.\n\ny: quit    n: continue",
            color="white",
            height=22,
            wrapWidth=900,
        )
        self.on_confirm = lambda: None
        self._reported_down: list[Any] = []

    def presses(self, keys: Sequence[str] | None = None) -> list[Any]:
        """Key presses not reported before, in the order they happened (``keys``: only these).

        ``Keyboard.getKeys(waitRelease=False)`` returns only keys that are still down, so a
        key pressed and released between two polls (a tap during a 200 ms stimulus, when
        nothing polls) would never be reported; ``waitRelease=True`` reports it only after
        the release. Both are read here, and a press reported while down is not reported
        again when it is released. The time of each is its key-down time either way.
        """
        key_list = list(keys) if keys is not None else None
        down = self.keyboard.getKeys(keyList=key_list, waitRelease=False)
        released = self.keyboard.getKeys(keyList=key_list, waitRelease=True)
        new = list(down)
        self._reported_down.extend(down)
        for key in released:
            if any(key is seen for seen in self._reported_down):
                self._reported_down = [seen for seen in self._reported_down if seen is not key]
            else:
                new.append(key)
        return sorted(new, key=lambda key: key.tDown)

    def clear(self) -> None:
        """Forget every key pressed so far."""
        self.keyboard.clearEvents()
        self._reported_down.clear()

    def reset_clock_on_flip(self) -> None:
        """Reset the keyboard clock at the next flip (the stimulus onset) and drop old keys."""
        self.drain()
        self.display.win.callOnFlip(self.keyboard.clock.reset)

    def drain(self) -> None:
        """Drop keys pressed so far, but honour an Esc among them (confirm, then restart)."""
        if self._escape_pressed(self.presses()):
            self.confirm_quit()
            raise Restart()

    def _escape_pressed(self, keys: Sequence[Any]) -> bool:
        return any(key.name == ESCAPE for key in keys)

    def confirm_quit(self) -> None:
        """Ask whether to quit; raise :class:`SessionAborted` on 'y', return on 'n'."""
        self.clear()
        self.on_confirm()
        while True:
            self.display.flip([self._confirm])
            keys = self.presses(["y", "n"])
            if any(key.name == "y" for key in keys):
                raise SessionAborted()
            if any(key.name == "n" for key in keys):
                self.clear()
                return

    def wait_key(
        self,
        keys: Sequence[str],
        *,
        deadline: float | None,
        stimuli: Sequence[Any] = (),
        screenshot: str | None = None,
    ) -> Answer | None:
        """Wait until one of ``keys`` (or the deadline, in s on the keyboard clock).

        Returns the key with its RT on the keyboard clock, None at the deadline. Esc asks
        to confirm; if the session goes on, :class:`Restart` is raised for the trial.
        """
        while True:
            pressed = self.presses([*keys, ESCAPE])
            if self._escape_pressed(pressed):
                self.confirm_quit()
                raise Restart()
            if pressed:
                return Answer(
                    response=pressed[0].name, rt=float(pressed[0].rt), raw=pressed[0].name
                )
            if deadline is not None and self.keyboard.clock.getTime() >= deadline:
                return None
            self.display.flip(list(stimuli), screenshot=screenshot)

    def _on_mouse_press(self, x: int, y: int, button: int, modifiers: int) -> None:
        """Pyglet's handler: queue every left press, so none is lost between two polls."""
        from psychopy import core

        if button == 1:
            width, height = self.display.win.size
            self._presses.append((x - width / 2, y - height / 2, core.getTime()))

    def clear_clicks(self) -> None:
        """Forget mouse presses so far."""
        self.display.win.winHandle.dispatch_events()
        self._presses.clear()

    def wait_click(
        self, screen: IconScreen, *, deadline: float | None, extra: Sequence[Any] = ()
    ) -> Answer:
        """Show the icon screen until an icon is clicked or the deadline (s from its onset).

        At the deadline the answer is ``na`` with a NaN time; clicks between icons are
        ignored.
        """
        self.drain()
        self.clear_clicks()
        onset = self.display.show([*extra, *screen.stimuli], 1, screenshot="response").onset
        while True:
            click = self.next_click([*extra, *screen.stimuli], until=onset + (deadline or math.inf))
            if click is None:
                return Answer(response="na", rt=float("nan"), onset=onset)
            x, y, when = click
            category = screen.hit(x, y)
            if category is not None:
                return Answer(
                    response=category, rt=when - onset, raw=f"{x:.0f},{y:.0f}", onset=onset
                )

    def next_click(
        self, stimuli: Sequence[Any], *, until: float, on_frame: Any = None
    ) -> tuple[float, float, float] | None:
        """Flip ``stimuli`` until a mouse press: its position and time, or None at ``until``.

        Positions are window pixels from the centre, y up; ``until`` is a time on the flip
        clock. Presses queued since :meth:`clear_clicks` come first. ``on_frame(now)`` may return
        more stimuli to draw on top (a countdown). Esc asks to confirm, then
        :class:`Restart`.
        """
        while not self._presses:
            if self._escape_pressed(self.presses([ESCAPE])):
                self.confirm_quit()
                raise Restart()
            extra = on_frame(self.display.last_flip) if on_frame is not None else []
            if self.display.flip([*stimuli, *extra]) >= until and not self._presses:
                return None
        return self._presses.popleft()


class IconScreen:
    """The 4 x 4 grid of category icons of Geirhos et al. (2018), clicked with the mouse.

    Parameters
    ----------
    display
        The window.
    grid
        Rows of category names, top row first.
    icon_dir
        Folder with ``<category>.png`` icons.
    icon_px, gap_px
        Icon size and gap in pixels (129 and 10 in the original experiment).
    """

    def __init__(
        self,
        display: Display,
        grid: Sequence[Sequence[str]],
        icon_dir: Path,
        *,
        icon_px: int = 129,
        gap_px: int = 10,
    ):
        from psychopy import visual

        rows, columns = len(grid), max(len(row) for row in grid)
        step = icon_px + gap_px
        self.size = icon_px
        self.positions: dict[str, tuple[float, float]] = {}
        self.stimuli = []
        for r, row in enumerate(grid):
            for c, category in enumerate(row):
                path = icon_dir / f"{category}.png"
                if not path.is_file():
                    raise LabError(
                        f"response.icons: there is no icon {path} for category '{category}'."
                    )
                x = (c - (columns - 1) / 2) * step
                y = ((rows - 1) / 2 - r) * step
                self.positions[category] = (x, y)
                self.stimuli.append(
                    visual.ImageStim(
                        display.win, image=str(path), pos=(x, y), size=(icon_px, icon_px)
                    )
                )

    @property
    def categories(self) -> list[str]:
        """The categories on the screen."""
        return list(self.positions)

    def hit(self, x: float, y: float) -> str | None:
        """The category whose icon contains the point, if any."""
        half = self.size / 2
        for category, (cx, cy) in self.positions.items():
            if abs(x - cx) <= half and abs(y - cy) <= half:
                return category
        return None
