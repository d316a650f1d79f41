"""Running a paradigm: checks before the first trial, the trial loop, saving, resume, Esc.

A paradigm is ``experiments/<name>.py`` (the :class:`~psychoalign.lab.paradigm.Paradigm`
contract) with ``experiments/<name>.yaml``; :func:`run_experiment` does everything around
it:

1. before the first trial, refuse what cannot run: the configuration, the paradigm
   script, the stimulus set and its checksums, the psychtoolbox keyboard, durations that
   are not whole frames at the refresh rate, an existing session;
2. write the sidecar (configuration, trial plan, seed, versions, screen, set checksum);
3. instructions, practice (saved to ``*_practice.csv``), then the trials, each appended
   and fsynced before the next, with breaks; Esc asks to confirm and keeps every
   completed trial; ``--resume`` continues the plan where the file ends (with the
   practice again from its start when it was not finished), the ``run`` column counting
   the resumes. No trial is presented unless its row can be saved: a storage fault
   stops the session before the next trial, and the sidecar says why.

Loading the paradigm and planning the session are in :mod:`psychoalign.lab.loading`.
Importing this module does not import PsychoPy; running an experiment does.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from psychoalign._deprecated import moved
from psychoalign.errors import OutputError
from psychoalign.lab.config import load_config
from psychoalign.lab.context import Lab
from psychoalign.lab.display import Display
from psychoalign.lab.errors import LabError, SessionAborted
from psychoalign.lab.loading import (
    SessionPlan,
    default_stimuli,
    load_paradigm,
    plan_session,
    trial_columns,
)
from psychoalign.lab.paradigm import Paradigm
from psychoalign.lab.responses import Responses, Restart, require_psychtoolbox_keyboard
from psychoalign.lab.session import Session
from psychoalign.lab.simulate import SimulatedParticipant, make_participant
from psychoalign.lab.timing import frame_table
from psychoalign.stimuli import StimulusSet

if TYPE_CHECKING:
    from psychoalign.models import ModelObserver

__all__ = ["RunOptions", "main", "run_experiment"]

# Moved to psychoalign.lab.paradigm; ``Lab``, ``load_paradigm`` and ``default_stimuli``
# are still imported here (the runner uses them), so their old path keeps working as is.
__getattr__ = moved(__name__, {"PRESENTATION_COLUMNS": "psychoalign.lab.paradigm"})


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
    trust_pickle: bool = False


def main(paradigm: str) -> None:
    """Entry point of ``python experiments/<paradigm>.py [options]``: ``psychoalign run`` for it."""
    from psychoalign.cli import app

    app(["run", paradigm, *sys.argv[1:]], prog_name=f"python experiments/{paradigm}.py")


def run_experiment(paradigm: str, options: RunOptions) -> Path:
    """Run a paradigm for one participant and session; return the trial file.

    Raises
    ------
    LabError
        Anything that would make the session invalid, found before the first trial: an
        existing session without ``--resume`` (however far it got), or the same session
        running in another process.
    OutputError
        A file of the session could not be written: the session stopped before the next
        trial, every trial presented before is on disk and the sidecar says why.
    """
    planned, session = _prepare(paradigm, options)
    with session:  # the session's lock is held until it ends
        return _run_session(planned, session, options)


def _run_session(planned: SessionPlan, session: Session, options: RunOptions) -> Path:
    """Open the window; the opening pages, practice and trials; the sidecar says how it ended."""
    # A model observer loads torch before PsychoPy creates its OpenGL context: the two
    # bring different LLVM builds, and the other order crashes in the import of triton.
    participant = _simulated_participant(options, planned)
    task_model = _task_model(planned.config, options.trust_pickle)
    lab = _open_lab(planned, options, participant, task_model)
    try:
        completed = session.completed() if options.resume else None
        done = len(completed) if completed is not None else 0
        lab.state = planned.module.initial_state(completed)  # e.g. the running score so far
        last = (
            len(planned.trials)
            if options.trials is None
            else min(len(planned.trials), options.trials)
        )
        practice = _practice_on_resume(session, planned, done) if options.resume else "new"
        _record_start(session, planned, options, lab, done, practice)
        columns = trial_columns(planned.module)
        run = len(session.record.get("resumed", [])) + 1
        base = _row_base(planned, options, lab.display.refresh_hz, run)
        if done < last:  # else only the goodbye page is left
            _opening(lab, planned, session, base, columns, practice, done)
        _run_trials(lab, planned, session, base, columns, range(done, last))
        status = (
            "completed" if last == len(planned.trials) else f"stopped after trial {last} (--trials)"
        )
        lab.page(planned.config.get("goodbye", "Thank you! Press space to finish."), "goodbye")
    except SessionAborted:
        status = "aborted with Esc"
    except OutputError as error:  # every trial presented is on disk: say why it stopped
        problem = session.finish(f"stopped: {error}") if session.sidecar_path.is_file() else None
        if problem:
            raise OutputError(f"{str(error).rstrip('.')}, and {problem}.") from None
        raise
    except BaseException as error:  # every completed trial is on disk already; say why it ended
        session.finish(f"crashed: {type(error).__name__}: {error}")
        raise
    finally:
        lab.display.close()
    problem = session.finish(status)
    if problem:
        raise OutputError(f"{problem}; every trial is saved in {session.path}.")
    return session.path


def _practice_on_resume(session: Session, planned: SessionPlan, done: int) -> str:
    """What a resumed session does with its practice: ``restarted``, ``skipped`` or ``none``.

    The practice starts again from its first trial unless it was finished (or the trials
    had begun): a participant interrupted in the practice has not finished practising.
    """
    if not planned.practice:
        return "none"
    practised = len(session.completed(session.practice_path))
    return "skipped" if done or practised >= len(planned.practice) else "restarted"


def _prepare(paradigm: str, options: RunOptions) -> tuple[SessionPlan, Session]:
    """Settings, script, verified stimuli, the (refused if existing) session and its plan."""
    config = load_config(paradigm, options.config)
    module = load_paradigm(paradigm)
    stimuli = (
        StimulusSet.open(options.stimuli) if options.stimuli else default_stimuli(config["stimuli"])
    )
    stimuli.verify(raise_errors=True)
    session = Session(
        options.data_dir, paradigm, options.participant, options.session, resume=options.resume
    )
    try:
        planned = plan_session(
            paradigm,
            module,
            config,
            stimuli,
            participant=options.participant,
            session=options.session,
            recorded=session.record if options.resume else None,
        )
    except BaseException:
        session.close()
        raise
    return planned, session


def _simulated_participant(
    options: RunOptions, planned: SessionPlan
) -> SimulatedParticipant | None:
    """The participant of ``--simulate`` (``random`` or ``model:<name>``), if any."""
    if not options.simulate:
        return None
    config = planned.config
    return make_participant(
        options.simulate,
        planned.module.response_categories(config, planned.stimuli),
        mapping=config.get("model_mapping", "imagenet-16"),
        seed=planned.seed,
        rt_range_ms=config.get("simulation", {}).get("rt_ms", [300, 800]),
        trust_pickle=options.trust_pickle,
    )


def _task_model(config: Mapping[str, Any], trust_pickle: bool) -> ModelObserver | None:
    """A model that is part of the task itself (ClickMe's ``task_model``), if any."""
    if not config.get("task_model"):
        return None
    from psychoalign.models import ModelObserver

    return ModelObserver(
        config["task_model"],
        config.get("model_mapping", "imagenet-16"),
        batch_size=1,
        trust_pickle=trust_pickle,
    )


def _open_lab(
    planned: SessionPlan,
    options: RunOptions,
    participant: SimulatedParticipant | None,
    task_model: ModelObserver | None,
) -> Lab:
    """The psychtoolbox keyboard, the window, its frame table and the responses, as a Lab."""
    keyboard = require_psychtoolbox_keyboard()
    display = Display(
        background_grey=planned.config["background_grey"],
        fullscreen=options.fullscreen,
        size=options.window_size,
        refresh_hz=options.refresh_rate,
    )
    try:
        frames = frame_table(planned.config["durations_ms"], display.refresh_hz)
    except LabError:
        display.close()
        raise
    display.screenshot_dir = options.screenshots
    responses = Responses(display, keyboard)
    if participant is not None:
        responses.on_confirm = participant.decline_to_quit
    return Lab(
        display=display,
        responses=responses,
        config=planned.config,
        frames=frames,
        stimuli=planned.stimuli,
        rng=np.random.default_rng(planned.seed),
        participant=participant,
        task_model=task_model,
    )


def _record_start(
    session: Session,
    planned: SessionPlan,
    options: RunOptions,
    lab: Lab,
    done: int,
    practice: str,
) -> None:
    """Write the sidecar of a new session (everything it is made of), or note a resume.

    A resume is noted as ``{at_trial, practice, run, screen}``: the first trial of this
    run, what became of the practice (``restarted``, ``skipped``, ``none``), the run's
    number in the ``run`` column of the trial file, and the display as measured this run.
    """
    if options.resume:
        resumed = session.record.get("resumed", [])
        # Each run opens the window and measures the display anew.
        entry = {
            "at_trial": done + 1,
            "practice": practice,
            "run": len(resumed) + 2,
            "screen": lab.display.describe(),
        }
        session.save_record(status="running", resumed=[*resumed, entry])
        return
    from psychopy import __version__ as psychopy_version

    from psychoalign import __version__

    config = planned.config
    session.save_record(
        paradigm=planned.paradigm,
        participant=options.participant,
        session=options.session,
        simulated=options.simulate or "",
        status="running",
        seed=planned.seed,
        counterbalance_variant=planned.variant,
        config={k: v for k, v in config.items() if not k.startswith("_")},
        config_files=config["_sources"],
        frames=lab.frames,
        screen=lab.display.describe(),
        stimulus_set=planned.stimuli.identity(),
        versions={
            "psychoalign": __version__,
            "psychopy": psychopy_version,
            "python": platform.python_version(),
        },
        rt_reference=planned.module.RT_REFERENCE,
        plan=planned.trials,
        practice_plan=planned.practice,
        practice_images=planned.practice_images,
    )


def _row_base(
    planned: SessionPlan, options: RunOptions, refresh_hz: float, run: int
) -> dict[str, Any]:
    """The columns every row of this run of the session shares (``run``: 1, then one per resume)."""
    return {
        "run": run,
        "experiment": planned.stimuli.name,
        "observer": f"sub-{options.participant}",
        "observer_kind": "model" if options.simulate else "human",
        "session": options.session,
        "paradigm": planned.paradigm,
        "simulated": options.simulate or "",
        "refresh_hz": refresh_hz,
    }


def _instructions(config: Mapping[str, Any]) -> str:
    text = config.get("instructions", "Press space to start.")
    keys = config.get("response", {}).get("keys")
    if keys and "{keys}" in text:
        text = text.replace(
            "{keys}", ", ".join(f"{key.upper()} for {category}" for category, key in keys.items())
        )
    return text


def _introduce(
    lab: Lab,
    planned: SessionPlan,
    session: Session,
    base: Mapping[str, Any],
    columns: list[str],
) -> None:
    """The instructions, then the practice trials (to ``*_practice.csv``) and their end page."""
    lab.page(_instructions(planned.config), "instructions")
    for number, trial in enumerate(planned.practice, start=1):
        session.ready(f"practice trial {number}", practice=True)
        row = {**base, "experiment": f"{planned.stimuli.name}-practice", "trial": number, **trial}
        session.append({**row, **_run_trial(lab, planned.module, trial)}, columns, practice=True)
    if planned.practice:
        _after_practice(lab, planned.config)


def _break_text(config: Mapping[str, Any]) -> str:
    return config.get("break_text", "Take a short break. Press space to continue.")


def _after_practice(lab: Lab, config: Mapping[str, Any]) -> None:
    text = config.get("after_practice", "Practice is over. Press space to start the experiment.")
    lab.page(text, "after_practice")


def _opening(
    lab: Lab,
    planned: SessionPlan,
    session: Session,
    base: Mapping[str, Any],
    columns: list[str],
    practice: str,
    done: int,
) -> None:
    """What comes before this run's first trial (``done`` trials of the session are saved).

    A new session, or one resumed before its trials began and with its practice not
    finished: the instructions and the practice. Resumed after a finished practice: its
    end page. Resumed during the trials: a page to continue (the break text).
    """
    if practice in ("new", "restarted") or (practice == "none" and not done):
        _introduce(lab, planned, session, base, columns)
    elif not done:
        _after_practice(lab, planned.config)
    else:
        lab.page(_break_text(planned.config), "resume")


def _run_trials(
    lab: Lab,
    planned: SessionPlan,
    session: Session,
    base: Mapping[str, Any],
    columns: list[str],
    positions: range,
) -> None:
    """The planned trials at ``positions`` (0-based), each saved at once, with breaks."""
    every = planned.config.get("break_every", 0)
    last = positions.stop
    for position in positions:
        trial = planned.trials[position]
        session.ready(f"trial {position + 1}")
        row = _run_trial(lab, planned.module, trial, on_restart=_log_restart(session, position + 1))
        session.append({**base, "trial": position + 1, **trial, **row}, columns)
        if every and (position + 1) % every == 0 and position + 1 < last:
            lab.page(_break_text(planned.config), "break")


def _log_restart(session: Session, trial: int) -> Callable[[], None]:
    """Record in the sidecar that Esc interrupted ``trial`` and the session went on."""

    def log() -> None:
        session.save_record(restarted_trials=[*session.record.get("restarted_trials", []), trial])

    return log


def _run_trial(
    lab: Lab,
    module: Paradigm,
    trial: Mapping[str, Any],
    on_restart: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Present a trial; if Esc was pressed and the session goes on, present it again."""
    while True:
        try:
            row = dict(module.present(lab, trial))
        except Restart:
            on_restart()
            continue
        row["correct"] = row.get("response") == trial["category"]
        return row
