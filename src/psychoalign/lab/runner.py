"""Running a paradigm: checks before the first trial, the trial loop, saving, resume, Esc.

A paradigm is ``experiments/<name>.py`` (``plan`` and ``present``) with
``experiments/<name>.yaml``; :func:`run_experiment` does everything around them:

1. before the first trial, refuse what cannot run: the configuration, the stimulus set
   and its checksums, the psychtoolbox keyboard, durations that are not whole frames at
   the refresh rate, an existing session;
2. write the sidecar (configuration, trial plan, seed, versions, screen, set checksum);
3. instructions, practice (saved to ``*_practice.csv``), then the trials, each appended
   and fsynced before the next, with breaks; Esc asks to confirm and keeps every
   completed trial; ``--resume`` continues the plan where the file ends.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from psychoalign.lab.config import experiments_dir, load_config
from psychoalign.lab.errors import LabError, SessionAborted
from psychoalign.lab.session import Session
from psychoalign.lab.timing import frame_table
from psychoalign.stimuli import StimulusSet, make_stimulus_set
from psychoalign.trials import TRIAL_COLUMNS

__all__ = ["Lab", "RunOptions", "default_stimuli", "load_paradigm", "run_experiment"]

#: Columns every lab trial file has after the trial-table schema.
PRESENTATION_COLUMNS = [
    "paradigm",
    "block",
    "trial_type",
    "simulated",
    "refresh_hz",
    "fixation_frames",
    "stim_frames",
    "isi_frames",
    "mask_frames",
    "dropped_frames",
    "onset_s",
    "mask_onset_s",
    "response_onset_s",
    "stimulus_duration_s",
    "response_raw",
    "seed",
]


@dataclass
class RunOptions:
    """The command-line options of ``psychoalign run``."""

    participant: str
    session: int = 1
    simulate: str | None = None
    resume: bool = False
    config: Path | None = None
    stimuli: Path | None = None
    data_dir: Path = Path("data")
    trials: int | None = None
    fullscreen: bool = True
    refresh_rate: float | None = None
    screenshots: Path | None = None
    window_size: tuple[int, int] = (1024, 768)


def load_paradigm(name: str) -> ModuleType:
    """Import ``experiments/<name>.py`` (it defines ``plan`` and ``present``)."""
    path = experiments_dir() / f"{name}.py"
    if not path.is_file():
        raise LabError(f"experiment: there is no {path}.")
    spec = importlib.util.spec_from_file_location(f"psychoalign_experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for required in ("plan", "present"):
        if not hasattr(module, required):
            raise LabError(f"{path}: defines no '{required}' function.")
    return module


def _cache_dir() -> Path:
    return Path(os.environ.get("PSYCHOALIGN_CACHE", Path.home() / ".cache" / "psychoalign"))


def default_stimuli(spec: Mapping[str, Any]) -> StimulusSet:
    """The stimulus set a paradigm's YAML names: bundled, made or relabelled from one, or a path.

    Derived sets are built once into ``$PSYCHOALIGN_CACHE/stimulus-sets`` (default
    ``~/.cache/psychoalign``) and reused after their checksums are verified.
    """
    from psychoalign.datasets import stimulus_set

    if "path" in spec:
        return StimulusSet.open(spec["path"])
    if "bundled" in spec:
        return stimulus_set(spec["bundled"])
    if "make" in spec:
        make = spec["make"]
        source = stimulus_set(make["source"])
        name = f"{make['source']}-{make['manipulation']}-seed{make.get('seed', 0)}"
        build = lambda target: make_stimulus_set(  # noqa: E731 - one call, used below
            source,
            make["manipulation"],
            target,
            levels=make.get("levels"),
            seed=make.get("seed", 0),
            name=name,
            progress=False,
        )
    elif "relabel" in spec:
        relabel = spec["relabel"]
        source = stimulus_set(relabel["source"])
        name = f"{relabel['source']}-{'-'.join(relabel['categories'])}"
        build = lambda target: source.relabel(relabel["categories"], name=name).write(target)  # noqa: E731
    else:
        raise LabError(
            f"stimuli: {dict(spec)} names no stimulus set (path, bundled, make or relabel)."
        )
    target = _cache_dir() / "stimulus-sets" / name
    if target.is_dir():
        existing = StimulusSet.open(target)
        if existing.verify().empty:
            return existing
        raise LabError(
            f"{target}: the cached stimulus set is damaged; delete the folder to rebuild it."
        )
    return build(target)


def _participant_index(participant: str) -> int:
    digits = "".join(c for c in participant if c.isdigit())
    return (
        int(digits)
        if digits
        else int(hashlib.sha256(participant.encode()).hexdigest(), 16) % 10_000
    )


def _seed(config: Mapping[str, Any], paradigm: str, participant: str, session: int) -> int:
    if config.get("seed") is not None:
        return int(config["seed"])
    text = f"{paradigm}/{participant}/{session}"
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % (2**31)


def _counterbalanced(config: dict[str, Any], index: int) -> tuple[dict[str, Any], int | None]:
    variants = config.get("counterbalance") or []
    if not variants:
        return config, None
    from psychoalign.lab.config import _merge

    chosen = index % len(variants)
    return _merge(config, variants[chosen]), chosen


@dataclass
class Lab:
    """What a paradigm's ``present`` works with: the window, responses, stimuli and settings."""

    display: Any
    responses: Any
    config: dict[str, Any]
    frames: dict[str, Any]
    stimuli: StimulusSet
    rng: np.random.Generator
    participant: Any = None
    task_model: Any = None
    #: What a paradigm keeps across trials (a running score); see ``initial_state``.
    state: dict[str, Any] = field(default_factory=dict)
    seen: np.ndarray | None = None
    _images: dict[str, Any] = field(default_factory=dict)
    _icons: Any = None

    @property
    def win(self) -> Any:
        """The PsychoPy window."""
        return self.display.win

    def image(self, stimulus: str) -> Any:
        """The stimulus as an ImageStim at its own pixel size (exactly the set's pixels)."""
        if stimulus not in self._images:
            from PIL import Image
            from psychopy import visual

            path = self.stimuli.file(stimulus)
            with Image.open(path) as picture:
                size = picture.size
            scale = float(self.config.get("stimulus_scale", 1.0))
            self._images[stimulus] = visual.ImageStim(
                self.win,
                image=str(path),
                size=(size[0] * scale, size[1] * scale),
                interpolate=scale != 1.0,
            )
        return self._images[stimulus]

    def text(self, message: str, *, height: float = 22, colour: str = "white") -> Any:
        """A centred text."""
        from psychopy import visual

        return visual.TextStim(self.win, text=message, color=colour, height=height, wrapWidth=900)

    def fixation(self) -> Any:
        """A black fixation cross."""
        from psychopy import visual

        return visual.ShapeStim(
            self.win,
            vertices="cross",
            size=(20, 20),
            lineWidth=0,
            fillColor="black",
            lineColor="black",
        )

    def mask(self, size: tuple[int, int], seed: int) -> Any:
        """A full-contrast 1/f noise mask of ``size`` pixels from ``seed`` (see stimuli.masks)."""
        from psychopy import visual

        from psychoalign.stimuli.masks import paradigm_mask

        noise = paradigm_mask(
            self.config["mask_paradigm"], (size[1], size[0]), np.random.default_rng(seed)
        )
        # A 2-D array is a grey texture in [-1, 1]; its first row is drawn at the bottom.
        return visual.ImageStim(self.win, image=noise[::-1, :, 0] * 2 - 1, size=size)

    def present_stimulus(
        self,
        stimulus: Any,
        n_frames: int,
        *,
        screenshot: str = "stimulus",
        extra: Sequence[Any] = (),
    ) -> Any:
        """Show the stimulus (``extra`` drawn first), the keyboard clock reset on its first flip.

        A simulated participant sees the stimulus's pixels as drawn in the window
        (``self.seen``).
        """
        self.responses.reset_clock_on_flip()
        watching = self.participant is not None
        shown = self.display.show(
            [*extra, stimulus], n_frames, screenshot=screenshot, capture=watching
        )
        if watching:
            self.seen = self._region(shown.pixels, stimulus)
            self.participant.see(self.seen)
        return shown

    @staticmethod
    def _region(frame: np.ndarray, stimulus: Any) -> np.ndarray:
        """The stimulus's rectangle of a captured frame."""
        width, height = (round(float(v)) for v in stimulus.size)
        centre_x = frame.shape[1] // 2 + round(float(stimulus.pos[0]))
        centre_y = frame.shape[0] // 2 - round(float(stimulus.pos[1]))
        top, left = centre_y - height // 2, centre_x - width // 2
        return frame[top : top + height, left : left + width]

    def keys(
        self,
        keys_by_category: Mapping[str, str],
        deadline_s: float | None,
        stimuli: Sequence[Any] = (),
        *,
        screenshot: str | None = None,
    ) -> Any:
        """Wait for the key of a category (deadline on the clock reset at stimulus onset)."""
        if self.participant is not None:
            self.participant.respond_keys(keys_by_category)
        by_key = {key: category for category, key in keys_by_category.items()}
        answer = self.responses.wait_key(
            list(by_key), deadline=deadline_s, stimuli=stimuli, screenshot=screenshot
        )
        if answer is None:
            return None
        return type(answer)(response=by_key[answer.raw], rt=answer.rt, raw=answer.raw)

    def icons(self, deadline_s: float | None) -> Any:
        """Show the 4 x 4 icon screen and wait for a click (deadline from its onset)."""
        if self._icons is None:
            from psychoalign.datasets import data_dir
            from psychoalign.lab.responses import IconScreen

            settings = self.config["response"]
            folder = Path(settings.get("icon_dir") or data_dir() / "response-screen-icons")
            self._icons = IconScreen(
                self.display, settings["icons"], folder, icon_px=settings.get("icon_px", 129)
            )
        if self.participant is not None:
            screen = {
                c: self.display.to_screen(x, y) for c, (x, y) in self._icons.positions.items()
            }
            self.participant.respond_icons(screen)
        return self.responses.wait_click(self._icons, deadline=deadline_s)

    def page(self, message: str, name: str) -> None:
        """A text page left with the space bar (Esc asks to quit); ``name`` its screenshot."""
        from psychoalign.lab.responses import Restart

        page = self.text(message)
        simulated = self.participant is not None
        while True:
            if simulated:
                self.participant.continue_()
            try:
                # A simulated participant presses again if its key press was missed.
                clock = self.responses.keyboard.clock
                deadline = clock.getTime() + 5 if simulated else None
                if (
                    self.responses.wait_key(
                        ["space"], deadline=deadline, stimuli=[page], screenshot=name
                    )
                    is not None
                ):
                    return
            except Restart:
                continue


def _columns(module: ModuleType) -> list[str]:
    extra = [c for c in getattr(module, "COLUMNS", []) if c not in PRESENTATION_COLUMNS]
    return [*TRIAL_COLUMNS, *PRESENTATION_COLUMNS, *extra]


def _plans(module: ModuleType, stimuli: StimulusSet, config: dict[str, Any], index: int, seed: int):
    """The trial plan and the practice plan (drawn apart, from the next seed)."""
    trials = module.plan(stimuli, config, index, np.random.default_rng(seed))
    practice = module.plan(stimuli, config, index + 1, np.random.default_rng(seed + 1))
    return trials, practice[: config.get("practice_trials", 0)]


def _instructions(config: Mapping[str, Any]) -> str:
    text = config.get("instructions", "Press space to start.")
    keys = config.get("response", {}).get("keys")
    if keys and "{keys}" in text:
        text = text.replace(
            "{keys}", ", ".join(f"{key.upper()} for {category}" for category, key in keys.items())
        )
    return text


def run_experiment(paradigm: str, options: RunOptions) -> Path:
    """Run a paradigm for one participant and session; return the trial file.

    Raises
    ------
    LabError
        Anything that would make the session invalid, found before the first trial.
    """
    from psychoalign.lab.simulate import make_participant

    config = load_config(paradigm, options.config)
    module = load_paradigm(paradigm)
    stimuli = (
        StimulusSet.open(options.stimuli) if options.stimuli else default_stimuli(config["stimuli"])
    )
    stimuli.verify(raise_errors=True)
    session = Session(
        options.data_dir, paradigm, options.participant, options.session, resume=options.resume
    )
    index = _participant_index(options.participant)
    config, variant = _counterbalanced(config, index)
    seed = _seed(config, paradigm, options.participant, options.session)
    if options.resume:
        plan, practice = session.record["plan"], session.record.get("practice_plan", [])
    else:
        plan, practice = _plans(module, stimuli, config, index, seed)
    # A model observer loads torch before PsychoPy creates its OpenGL context: the two
    # bring different LLVM builds, and the other order crashes in the import of triton.
    participant = None
    if options.simulate:
        participant = make_participant(
            options.simulate,
            module.response_categories(config, stimuli),
            mapping=config.get("model_mapping", "imagenet-16"),
            seed=seed,
            rt_range_ms=config.get("simulation", {}).get("rt_ms", [300, 800]),
        )
    task_model = None
    if config.get("task_model"):  # a model that is part of the task itself (ClickMe)
        from psychoalign.models import ModelObserver

        task_model = ModelObserver(
            config["task_model"], config.get("model_mapping", "imagenet-16"), batch_size=1
        )
    from psychopy import __version__ as psychopy_version

    from psychoalign import __version__
    from psychoalign.lab.display import Display
    from psychoalign.lab.responses import Responses, require_psychtoolbox_keyboard

    keyboard = require_psychtoolbox_keyboard()
    display = Display(
        background_grey=config["background_grey"],
        fullscreen=options.fullscreen,
        size=options.window_size,
        refresh_hz=options.refresh_rate,
    )
    try:
        frames = frame_table(config["durations_ms"], display.refresh_hz)
    except LabError:
        display.close()
        raise
    display.screenshot_dir = options.screenshots
    responses = Responses(display, keyboard)
    if participant is not None:
        responses.on_confirm = participant.decline_to_quit
    lab = Lab(
        display,
        responses,
        config,
        frames,
        stimuli,
        np.random.default_rng(seed),
        participant,
        task_model,
    )
    done = len(session.completed()) if options.resume else 0
    if hasattr(module, "initial_state"):  # e.g. the running score, from the trials so far
        lab.state = module.initial_state(session.completed() if options.resume else None)
    last = len(plan) if options.trials is None else min(len(plan), options.trials)
    base = {
        "experiment": stimuli.name,
        "observer": f"sub-{options.participant}",
        "observer_kind": "model" if options.simulate else "human",
        "session": options.session,
        "paradigm": paradigm,
        "simulated": options.simulate or "",
        "refresh_hz": display.refresh_hz,
    }
    if options.resume:
        session.save_record(
            status="running", resumed=[*session.record.get("resumed", []), {"at_trial": done + 1}]
        )
    else:
        session.save_record(
            paradigm=paradigm,
            participant=options.participant,
            session=options.session,
            simulated=options.simulate or "",
            status="running",
            seed=seed,
            counterbalance_variant=variant,
            config={k: v for k, v in config.items() if not k.startswith("_")},
            config_files=config["_sources"],
            frames=frames,
            screen=display.describe(),
            stimulus_set=stimuli.identity(),
            versions={
                "psychoalign": __version__,
                "psychopy": psychopy_version,
                "python": platform.python_version(),
            },
            rt_reference=getattr(module, "RT_REFERENCE", "stimulus onset"),
            plan=plan,
            practice_plan=practice,
        )
    columns = _columns(module)
    try:
        if not options.resume:
            lab.page(_instructions(config), "instructions")
            for number, trial in enumerate(practice, start=1):
                row = {**base, "experiment": f"{stimuli.name}-practice", "trial": number, **trial}
                session.append({**row, **_run_trial(lab, module, trial)}, columns, practice=True)
            if practice:
                lab.page(
                    config.get(
                        "after_practice", "Practice is over. Press space to start the experiment."
                    ),
                    "after_practice",
                )
        every = config.get("break_every", 0)
        for position in range(done, last):
            trial = plan[position]
            row = _run_trial(lab, module, trial, on_restart=_log_restart(session, position + 1))
            session.append({**base, "trial": position + 1, **trial, **row}, columns)
            if every and (position + 1) % every == 0 and position + 1 < last:
                lab.page(
                    config.get("break_text", "Take a short break. Press space to continue."),
                    "break",
                )
        status = "completed" if last == len(plan) else f"stopped after trial {last} (--trials)"
        lab.page(config.get("goodbye", "Thank you! Press space to finish."), "goodbye")
    except SessionAborted:
        status = "aborted with Esc"
    except BaseException as error:  # every completed trial is on disk already; say why it ended
        session.save_record(
            status=f"crashed: {type(error).__name__}: {error}", n_trials=len(session.completed())
        )
        raise
    finally:
        display.close()
    session.save_record(status=status, n_trials=len(session.completed()))
    return session.path


def _log_restart(session: Session, trial: int) -> Callable[[], None]:
    """Record in the sidecar that Esc interrupted ``trial`` and the session went on."""

    def log() -> None:
        session.save_record(restarted_trials=[*session.record.get("restarted_trials", []), trial])

    return log


def _run_trial(
    lab: Lab,
    module: ModuleType,
    trial: Mapping[str, Any],
    on_restart: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Present a trial; if Esc was pressed and the session goes on, present it again."""
    from psychoalign.lab.responses import Restart

    while True:
        try:
            row = dict(module.present(lab, trial))
        except Restart:
            on_restart()
            continue
        row["correct"] = row.get("response") == trial["category"]
        return row
