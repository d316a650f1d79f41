"""Simulated participants that answer through the same keyboard and mouse as people do.

A simulated participant is told what is on the screen (the stimulus, with the pixels
actually drawn in the window, and which response screen is up) and answers by sending
real key presses and mouse clicks to the X server with the XTEST extension. The
experiment reads them with the same psychtoolbox keyboard and PsychoPy mouse it uses for
people: there is no separate code path for simulated answers.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from psychoalign.lab.errors import LabError

__all__ = ["SimulatedParticipant", "make_participant"]

# PsychoPy key names -> X keysym names
_KEYSYMS = {"escape": "Escape", "space": "space", "return": "Return"}


class _XInput:
    """Key presses and clicks injected into the X server (XTEST)."""

    def __init__(self):
        from Xlib import XK, X
        from Xlib import display as xdisplay
        from Xlib.ext import xtest

        name = os.environ.get("DISPLAY")
        if not name:
            raise LabError(
                "--simulate: simulated participants answer through an X display; DISPLAY is "
                "not set."
            )
        self._display = xdisplay.Display(name)
        if not self._display.has_extension("XTEST"):
            raise LabError(
                f"--simulate: the X display {name} has no XTEST extension to send input with."
            )
        self._x, self._keysyms, self._xtest = X, XK, xtest
        self._lock = threading.Lock()
        # A process killed between press and release leaves the button down: lift it.
        self._xtest.fake_input(self._display, X.ButtonRelease, 1)
        self._display.sync()

    def press(self, key: str) -> None:
        with self._lock:
            keysym = self._keysyms.string_to_keysym(_KEYSYMS.get(key, key))
            code = self._display.keysym_to_keycode(keysym)
            self._xtest.fake_input(self._display, self._x.KeyPress, code)
            self._display.sync()
            time.sleep(0.01)
            self._xtest.fake_input(self._display, self._x.KeyRelease, code)
            self._display.sync()

    def click(self, x: int, y: int) -> None:
        with self._lock:
            self._xtest.fake_input(self._display, self._x.MotionNotify, x=x, y=y)
            self._display.sync()
            time.sleep(0.03)
            self._xtest.fake_input(self._display, self._x.ButtonPress, 1)
            self._display.sync()
            time.sleep(0.03)
            self._xtest.fake_input(self._display, self._x.ButtonRelease, 1)
            self._display.sync()


class SimulatedParticipant:
    """Answers at a random time in ``rt_range`` s; subclasses decide which category.

    The experiment calls :meth:`see` with the stimulus pixels as displayed and
    :meth:`respond_keys` / :meth:`respond_icons` when the response is due; pages that
    wait for the space bar call :meth:`continue_`.
    """

    kind = "random"

    def __init__(
        self, categories: Sequence[str], rng: np.random.Generator, rt_range: tuple[float, float]
    ):
        self.categories = list(categories)
        self.rng = rng
        # Decisions are drawn in another thread, from a generator of their own.
        self.decision_rng = rng.spawn(1)[0]
        self.rt_range = rt_range
        self.input = _XInput()
        self._decision: str | Exception | None = None
        self._deciding: threading.Thread | None = None

    @property
    def name(self) -> str:
        """How the simulation is named in the trial file."""
        return self.kind

    def _later(self, action, *args: Any) -> None:
        delay = float(self.rng.uniform(*self.rt_range))
        timer = threading.Timer(delay, action, args=args)
        timer.daemon = True
        timer.start()

    def decide(self, pixels: np.ndarray) -> str:
        """The category chosen for a stimulus (uniformly at random here)."""
        return str(self.decision_rng.choice(self.categories))

    def see(self, pixels: np.ndarray) -> None:
        """Look at the stimulus as drawn (height, width, 3 uint8) and start deciding.

        The decision (a model's forward pass) runs in a thread, so that the frames that
        follow the stimulus (blank, mask) are flipped on time meanwhile.
        """

        def decide() -> None:
            try:
                self._decision = self.decide(pixels)
            except Exception as error:  # raised again in the experiment's thread
                self._decision = error

        self._decision = None
        self._deciding = threading.Thread(target=decide, daemon=True)
        self._deciding.start()

    def _decided(self) -> str:
        if self._deciding is not None:
            self._deciding.join()
        if isinstance(self._decision, Exception):
            raise self._decision
        return self._decision or self.categories[0]

    def respond_keys(self, keys: Mapping[str, str]) -> None:
        """Press the key of the decided category (``keys``: category -> key)."""
        self._later(self.input.press, keys[self._decided()])

    def respond_icons(self, positions: Mapping[str, tuple[int, int]]) -> None:
        """Click the icon of the decided category (``positions``: category -> screen x, y)."""
        x, y = positions[self._decided()]
        self._later(self.input.click, x, y)

    def choose_points(
        self, pixels: np.ndarray, category: str, n: int, spacing: float
    ) -> list[tuple[int, int]]:
        """Where to click in the image (row, col), in order: anywhere, at random here."""
        height, width = pixels.shape[:2]
        rows = self.decision_rng.integers(0, height, n)
        cols = self.decision_rng.integers(0, width, n)
        return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]

    def click_points(self, positions: Sequence[tuple[int, int]]) -> None:
        """Click the screen ``positions`` one after another, each after a random delay.

        The clicks run in a thread until :meth:`stop_clicking`, which waits for it.
        """
        self._stop = threading.Event()
        delays = [float(self.rng.uniform(*self.rt_range)) for _ in positions]

        def run() -> None:
            for delay, (x, y) in zip(delays, positions, strict=True):
                if self._stop.wait(delay):
                    return
                self.input.click(x, y)

        self._clicking = threading.Thread(target=run, daemon=True)
        self._clicking.start()

    def stop_clicking(self) -> None:
        """Stop the clicks of :meth:`click_points` (a click in progress completes)."""
        if getattr(self, "_clicking", None) is not None:
            self._stop.set()
            self._clicking.join()
            self._clicking = None

    def continue_(self) -> None:
        """Press the space bar to leave an instruction or break page."""
        timer = threading.Timer(0.05, self.input.press, args=("space",))
        timer.daemon = True
        timer.start()

    def decline_to_quit(self) -> None:
        """Answer 'n' on the quit confirmation."""
        self._later(self.input.press, "n")


class ModelParticipant(SimulatedParticipant):
    """A model observer deciding from the stimulus pixels actually drawn in the window."""

    def __init__(
        self,
        observer: Any,
        categories: Sequence[str],
        rng: np.random.Generator,
        rt_range: tuple[float, float],
    ):
        super().__init__(categories, rng, rt_range)
        self.observer = observer
        unknown = sorted(set(categories) - set(observer.mapping.categories))
        if unknown:
            raise LabError(
                f"--simulate: the model's mapping '{observer.mapping.name}' cannot answer category "
                f"'{unknown[0]}' of this experiment."
            )

    @property
    def name(self) -> str:
        return f"model:{self.observer.model.name}"

    def decide(self, pixels: np.ndarray) -> str:
        responses, _ = self.observer.respond(pixels[None])
        return responses[0]

    def choose_points(
        self, pixels: np.ndarray, category: str, n: int, spacing: float
    ) -> list[tuple[int, int]]:
        """The ``n`` highest peaks of the model's saliency map for ``category``.

        Peaks are taken greedily, each at least ``spacing`` pixels from those before.
        """
        from psychoalign.models import feature_importance

        saliency = feature_importance(
            self.observer, pixels[None] / 255.0, [category], method="saliency"
        )[0].astype(float)
        rows, cols = np.indices(saliency.shape)
        points = []
        for _ in range(n):
            row, col = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
            points.append((int(row), int(col)))
            saliency[(rows - row) ** 2 + (cols - col) ** 2 < spacing**2] = -np.inf
        return points


def make_participant(
    spec: str,
    categories: Sequence[str],
    *,
    mapping: str,
    seed: int,
    rt_range_ms: Sequence[float],
    trust_pickle: bool = False,
) -> SimulatedParticipant:
    """``random`` or ``model:<name>`` (the model answers through ``mapping``).

    ``trust_pickle`` lets a ``model:<file>`` that is a pickled model load (``--trust-pickle``).
    """
    rng = np.random.default_rng(seed)
    rt_range = (rt_range_ms[0] / 1000, rt_range_ms[1] / 1000)
    if spec == "random":
        return SimulatedParticipant(categories, rng, rt_range)
    if spec.startswith("model:"):
        from psychoalign.models import ModelObserver

        observer = ModelObserver(
            spec.removeprefix("model:"), mapping, batch_size=1, trust_pickle=trust_pickle
        )
        return ModelParticipant(observer, categories, rng, rt_range)
    raise LabError(f"--simulate: '{spec}' is neither 'random' nor 'model:<model name>'.")
