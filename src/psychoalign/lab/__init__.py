"""The PsychoPy runtime: sessions, frame-exact presentation, responses, simulated observers.

``experiments/<name>.py`` provides the :class:`Paradigm` contract; :func:`run_experiment`
runs it (``psychoalign run <name>``): :mod:`~psychoalign.lab.loading` loads and plans,
:mod:`~psychoalign.lab.runner` runs the session loop, :class:`Lab` is what a paradigm's
``present`` draws with. Importing this package does not import PsychoPy; running an
experiment does.
"""

from __future__ import annotations

from psychoalign.lab.clickme_rules import ClickMeRules, reveal
from psychoalign.lab.config import PARADIGMS, experiments_dir, load_config, merge_settings
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
from psychoalign.lab.responses import (
    Answer,
    IconScreen,
    Responses,
    Restart,
    require_psychtoolbox_keyboard,
)
from psychoalign.lab.runner import RunOptions, main, run_experiment
from psychoalign.lab.session import Session, session_stem
from psychoalign.lab.simulate import SimulatedParticipant, make_participant
from psychoalign.lab.timing import FRAME_TOLERANCE_MS, frame_table, frames, frames_in_range

__all__ = [
    "FRAME_TOLERANCE_MS",
    "PARADIGMS",
    "PRESENTATION_COLUMNS",
    "Answer",
    "ClickMeRules",
    "Display",
    "IconScreen",
    "Lab",
    "LabError",
    "Paradigm",
    "Responses",
    "Restart",
    "RunOptions",
    "Session",
    "SessionAborted",
    "SessionPlan",
    "Shown",
    "SimulatedParticipant",
    "check_paradigm",
    "default_stimuli",
    "empty_state",
    "experiments_dir",
    "frame_table",
    "frames",
    "frames_in_range",
    "icon_categories",
    "load_config",
    "load_paradigm",
    "main",
    "make_participant",
    "merge_settings",
    "plan_session",
    "planned_trial",
    "presentation_record",
    "require_psychtoolbox_keyboard",
    "reveal",
    "run_experiment",
    "session_stem",
    "trial_columns",
]
