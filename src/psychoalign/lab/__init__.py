"""The PsychoPy runtime: sessions, frame-exact presentation, responses, simulated observers.

``experiments/<name>.py`` provides the :class:`Paradigm` contract; :func:`run_experiment`
runs it (``psychoalign run <name>``): :mod:`~psychoalign.lab.loading` loads and plans,
:mod:`~psychoalign.lab.runner` runs the session loop, :class:`Lab` is what a paradigm's
``present`` draws with. Importing this package does not import PsychoPy; running an
experiment does.
"""

from __future__ import annotations

from psychoalign.lab.clickme_rules import ClickMeRules, reveal
from psychoalign.lab.config import (
    DATA_SETTINGS,
    OPTIONAL_SETTINGS,
    PARADIGMS,
    experiments_dir,
    load_config,
    merge_settings,
)
from psychoalign.lab.context import Lab
from psychoalign.lab.display import Display, Shown
from psychoalign.lab.errors import LabError, SessionAborted
from psychoalign.lab.loading import (
    SessionPlan,
    default_stimuli,
    load_paradigm,
    plan_session,
    trial_columns,
)
from psychoalign.lab.paradigm import (
    PRESENTATION_COLUMNS,
    Paradigm,
    check_paradigm,
    empty_state,
    icon_categories,
    planned_trial,
    presentation_record,
)
from psychoalign.lab.practice import practice_images, split_practice
from psychoalign.lab.responses import (
    Answer,
    IconScreen,
    Responses,
    Restart,
    require_psychtoolbox_keyboard,
)
from psychoalign.lab.runner import RunOptions, main, run_experiment
from psychoalign.lab.session import Session, session_stem, session_summary
from psychoalign.lab.simulate import SimulatedParticipant, make_participant
from psychoalign.lab.storage import (
    ROW_ROOM,
    SIDECAR_ROOM,
    SessionLock,
    folder_problem,
    rewrite_in_place,
    room_problem,
)
from psychoalign.lab.timing import (
    CLUSTERED_FRACTION,
    FRAME_TOLERANCE_MS,
    MAX_REFRESH_HZ,
    PAUSE_DELAY_RATIO,
    FlipTiming,
    flip_timing,
    frame_table,
    frames,
    frames_in_range,
    off_by_more_than_a_frame,
)

__all__ = [
    "CLUSTERED_FRACTION",
    "DATA_SETTINGS",
    "FRAME_TOLERANCE_MS",
    "MAX_REFRESH_HZ",
    "OPTIONAL_SETTINGS",
    "PARADIGMS",
    "PAUSE_DELAY_RATIO",
    "PRESENTATION_COLUMNS",
    "ROW_ROOM",
    "SIDECAR_ROOM",
    "Answer",
    "ClickMeRules",
    "Display",
    "FlipTiming",
    "IconScreen",
    "Lab",
    "LabError",
    "Paradigm",
    "Responses",
    "Restart",
    "RunOptions",
    "Session",
    "SessionAborted",
    "SessionLock",
    "SessionPlan",
    "Shown",
    "SimulatedParticipant",
    "check_paradigm",
    "default_stimuli",
    "empty_state",
    "experiments_dir",
    "flip_timing",
    "folder_problem",
    "frame_table",
    "frames",
    "frames_in_range",
    "icon_categories",
    "load_config",
    "load_paradigm",
    "main",
    "make_participant",
    "merge_settings",
    "off_by_more_than_a_frame",
    "plan_session",
    "planned_trial",
    "practice_images",
    "presentation_record",
    "require_psychtoolbox_keyboard",
    "reveal",
    "rewrite_in_place",
    "room_problem",
    "run_experiment",
    "session_stem",
    "session_summary",
    "split_practice",
    "trial_columns",
]
