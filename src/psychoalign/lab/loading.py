"""Before the window opens: the paradigm script, its stimulus set, the seed and the trial plans.

:func:`load_paradigm` imports ``experiments/<name>.py`` and checks it against the
:class:`~psychoalign.lab.paradigm.Paradigm` contract; :func:`default_stimuli` finds (or
builds once) the stimulus set a paradigm's YAML names; :func:`plan_session` fixes what a
session is made of (the participant's counterbalancing variant, the seed, the trial plan
and the practice plan); :func:`trial_columns` lists the columns of its trial file.
Importing this module does not import PsychoPy.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from psychoalign._io import bytes_sha256
from psychoalign.lab.config import experiments_dir, merge_settings
from psychoalign.lab.errors import LabError
from psychoalign.lab.paradigm import PRESENTATION_COLUMNS, Paradigm, check_paradigm
from psychoalign.lab.practice import practice_images, split_practice
from psychoalign.stimuli import StimulusSet, make_stimulus_set
from psychoalign.trials import TRIAL_COLUMNS

__all__ = ["SessionPlan", "default_stimuli", "load_paradigm", "plan_session", "trial_columns"]


def load_paradigm(name: str) -> Paradigm:
    """Import ``experiments/<name>.py`` and check that it provides the paradigm contract.

    Raises
    ------
    LabError
        There is no such script, or it lacks a member of
        :class:`~psychoalign.lab.paradigm.Paradigm`.
    """
    path = experiments_dir() / f"{name}.py"
    if not path.is_file():
        raise LabError(f"experiment: there is no {path}.")
    spec = importlib.util.spec_from_file_location(f"psychoalign_experiment_{name}", path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would: dataclasses and type hints in the
    # script look their module up there.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return check_paradigm(module, str(path))


def _cache_dir() -> Path:
    return Path(os.environ.get("PSYCHOALIGN_CACHE", Path.home() / ".cache" / "psychoalign"))


def _setting(spec: Mapping[str, Any], key: str) -> Any:
    """``spec[key]`` of the ``stimuli`` setting, or a LabError naming it."""
    if key not in spec:
        raise LabError(f"stimuli: setting '{key}' is missing from {dict(spec)}.")
    return spec[key]


def _derived_set(spec: Mapping[str, Any]) -> tuple[str, Callable[[Path], StimulusSet]]:
    """The name of the set a ``make`` or ``relabel`` setting derives, and how to build it."""
    from psychoalign.datasets import stimulus_set

    if "make" in spec:
        make = spec["make"]
        source = stimulus_set(_setting(make, "source"))
        manipulation = _setting(make, "manipulation")
        name = f"{make['source']}-{manipulation}-seed{make.get('seed', 0)}"
        return name, lambda target: make_stimulus_set(
            source,
            manipulation,
            target,
            levels=make.get("levels"),
            seed=make.get("seed", 0),
            name=name,
            progress=False,
        )
    if "relabel" in spec:
        relabel = spec["relabel"]
        source = stimulus_set(_setting(relabel, "source"))
        categories = _setting(relabel, "categories")
        name = f"{relabel['source']}-{'-'.join(categories)}"
        return name, lambda target: source.relabel(categories, name=name).write(target)
    raise LabError(f"stimuli: {dict(spec)} names no stimulus set (path, bundled, make or relabel).")


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
    name, build = _derived_set(spec)
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
    return int(digits) if digits else int(bytes_sha256(participant.encode()), 16) % 10_000


def _seed(config: Mapping[str, Any], paradigm: str, participant: str, session: int) -> int:
    if config.get("seed") is not None:
        return int(config["seed"])
    text = f"{paradigm}/{participant}/{session}"
    return int(bytes_sha256(text.encode()), 16) % (2**31)


def _counterbalanced(config: dict[str, Any], index: int) -> tuple[dict[str, Any], int | None]:
    variants = config.get("counterbalance") or []
    if not variants:
        return config, None
    chosen = index % len(variants)
    return merge_settings(config, variants[chosen]), chosen


def _plans(
    module: Paradigm, stimuli: StimulusSet, config: dict[str, Any], index: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The trial plan, the practice plan (from the next seed) and the practice images.

    The practice is planned on the practice images only and the trials on the others
    (:mod:`~psychoalign.lab.practice`), so no image of the practice is a trial's.
    """
    count = int(config.get("practice_trials", 0))
    images = practice_images(stimuli, count)
    main, practising = split_practice(stimuli, images)
    trials = module.plan(main, config, index, np.random.default_rng(seed))
    if practising is None:
        return trials, [], []
    practice = module.plan(practising, config, index + 1, np.random.default_rng(seed + 1))
    return trials, [{**t, "trial_type": "practice"} for t in practice[:count]], images


@dataclass(frozen=True)
class SessionPlan:
    """What one session is made of, fixed before the window opens.

    Attributes
    ----------
    paradigm
        The paradigm's name (``experiments/<paradigm>.py``).
    module
        The paradigm script.
    config
        Its settings with the participant's counterbalancing variant merged in.
    stimuli
        The verified stimulus set.
    seed
        The session's seed: the ``seed`` setting, else drawn from paradigm, participant
        and session.
    variant
        The counterbalancing variant (its index in ``counterbalance``), or None.
    trials, practice
        The trial plan and the practice plan, in order.
    practice_images
        The images only the practice shows (the main trials never do).
    """

    paradigm: str
    module: Paradigm
    config: dict[str, Any]
    stimuli: StimulusSet
    seed: int
    variant: int | None
    trials: list[dict[str, Any]]
    practice: list[dict[str, Any]]
    practice_images: list[str]


def plan_session(
    paradigm: str,
    module: Paradigm,
    config: dict[str, Any],
    stimuli: StimulusSet,
    *,
    participant: str,
    session: int,
    recorded: Mapping[str, Any] | None = None,
) -> SessionPlan:
    """Counterbalance, seed and plan one participant's session.

    Parameters
    ----------
    paradigm, module, config, stimuli
        The paradigm's name, script, settings and stimulus set.
    participant, session
        Who and which session: the participant's number (its digits, else a hash of the
        id) picks the counterbalancing variant and the Latin-square row.
    recorded
        The sidecar of a session being resumed: its plans are kept, not drawn again.

    Returns
    -------
    SessionPlan
        The settings, seed, variant and plans. The practice plan is drawn from the next
        seed and participant index, on images the trial plan leaves out.
    """
    index = _participant_index(participant)
    config, variant = _counterbalanced(config, index)
    seed = _seed(config, paradigm, participant, session)
    if recorded is not None:
        trials, practice = recorded["plan"], recorded.get("practice_plan", [])
        images = recorded.get("practice_images", [])
    else:
        trials, practice, images = _plans(module, stimuli, config, index, seed)
    return SessionPlan(paradigm, module, config, stimuli, seed, variant, trials, practice, images)


def trial_columns(module: Paradigm) -> list[str]:
    """The trial file's columns: the trial-table schema, the presentation record, ``COLUMNS``."""
    extra = [c for c in module.COLUMNS if c not in PRESENTATION_COLUMNS]
    return [*TRIAL_COLUMNS, *PRESENTATION_COLUMNS, *extra]
