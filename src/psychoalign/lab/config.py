"""Experiment configuration: the paradigm's YAML, merged with a lab's own file, checked."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from psychoalign._checks import whole_number
from psychoalign.lab.errors import LabError
from psychoalign.stimuli.masks import PARADIGM_MASKS

__all__ = [
    "DATA_SETTINGS",
    "OPTIONAL_SETTINGS",
    "PARADIGMS",
    "experiments_dir",
    "load_config",
    "merge_settings",
]

#: The paradigms shipped in ``experiments/``.
PARADIGMS = ("rapid_categorization", "noise_degraded", "metamer_recognition", "clickme")
_ENVIRONMENT = "PSYCHOALIGN_EXPERIMENTS"
_RESPONSE_TYPES = ("keys", "icons", "clicks")

#: Settings a lab's file may give although the paradigm's YAML has none: those the runner
#: and the lab read for every paradigm, as key paths (``response.icon_dir`` is ``icon_dir``
#: under ``response``). The settings of a paradigm are these and those of its YAML.
OPTIONAL_SETTINGS = (
    "seed",
    "counterbalance",
    "practice_trials",
    "break_every",
    "instructions",
    "after_practice",
    "break_text",
    "goodbye",
    "model_mapping",
    "task_model",
    "stimulus_scale",
    "mask_paradigm",
    "response.keys",
    "response.icons",
    "response.icon_dir",
    "response.icon_px",
    "simulation.rt_ms",
    "stimuli.path",
    "stimuli.bundled",
    "stimuli.make.source",
    "stimuli.make.manipulation",
    "stimuli.make.levels",
    "stimuli.make.seed",
    "stimuli.relabel.source",
    "stimuli.relabel.categories",
)
#: Settings whose keys are data, not settings (a category's response key, the categories
#: a relabelled set is made of): any key is taken there.
DATA_SETTINGS = ("response.keys", "stimuli.relabel.categories")


def experiments_dir() -> Path:
    """The paradigm scripts and YAML files.

    The first of: ``$PSYCHOALIGN_EXPERIMENTS`` when set; the experiments installed with the
    package (``psychoalign/_experiments``, from a wheel); the checkout's ``experiments/``.
    """
    configured = os.environ.get(_ENVIRONMENT)
    if configured:
        candidates = [Path(configured)]
    else:
        package = Path(__file__).resolve().parents[1]
        candidates = [package / "_experiments", package.parents[1] / "experiments"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise LabError(
        f"the experiments folder {candidates[-1]} does not exist; install psychoalign from a "
        f"wheel or a checkout, or set {_ENVIRONMENT}."
    )


def merge_settings(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the settings of ``extra`` replacing its own, key by key.

    Nested mappings are merged the same way; neither argument is changed.

    Examples
    --------
    >>> merge_settings({"response": {"type": "keys", "keys": {"cat": "f"}}},
    ...                {"response": {"keys": {"cat": "j"}}})
    {'response': {'type': 'keys', 'keys': {'cat': 'j'}}}
    """
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _setting_paths(settings: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every setting of ``settings`` as a key path, its nested mappings' keys included.

    The keys of :data:`DATA_SETTINGS` are data, not settings, and are not listed.

    Examples
    --------
    >>> settings = {"durations_ms": {"stimulus": 200}, "response": {"keys": {"cat": "f"}}}
    >>> sorted(_setting_paths(settings))
    ['durations_ms', 'durations_ms.stimulus', 'response', 'response.keys']
    """
    paths = set()
    for key, value in settings.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, Mapping) and path not in DATA_SETTINGS:
            paths |= _setting_paths(value, f"{path}.")
    return paths


def _nearest(path: str, known: set[str]) -> str | None:
    """The known setting ``path`` most likely meant (None when nothing is close).

    A sibling spelt alike or starting alike (``rt`` for ``rt_ms``), else the same name in
    another group, else a path elsewhere spelt much alike.
    """
    parent, _, name = path.rpartition(".")
    siblings = {p.rpartition(".")[2]: p for p in known if p.rpartition(".")[0] == parent}
    match = difflib.get_close_matches(name, sorted(siblings), n=1)
    if not match and len(name) > 1:
        match = sorted(s for s in siblings if s.startswith(name) or name.startswith(s))
    if match:
        return siblings[match[0]]
    same_name = sorted(p for p in known if p.rpartition(".")[2] == name)
    if same_name:
        return same_name[0]
    # Not a sibling (tried above) nor a group the setting is in.
    elsewhere = sorted(p for p in known - set(siblings.values()) if not path.startswith(f"{p}."))
    match = difflib.get_close_matches(path, elsewhere, n=1, cutoff=0.75)
    return match[0] if match else None


def _first_unknown(
    settings: Mapping[str, Any], known: set[str], prefix: str = ""
) -> tuple[str, str] | None:
    """The first setting of ``settings`` that is not ``known``, or None.

    Returned as its path and the part of the path that is in ``known``'s terms: they
    differ for a counterbalancing variant's setting (``counterbalance[2].response``).
    """
    for key, value in settings.items():
        path = f"{prefix}{key}"
        if path not in known:
            return path, path
        if path == "counterbalance" and isinstance(value, list):
            for number, variant in enumerate(value, start=1):
                found = _first_unknown(variant, known) if isinstance(variant, Mapping) else None
                if found:
                    return f"counterbalance[{number}].{found[0]}", found[1]
        elif (
            isinstance(value, Mapping)
            and path not in DATA_SETTINGS
            and any(k.startswith(f"{path}.") for k in known)  # a group of settings
        ):
            found = _first_unknown(value, known, f"{path}.")
            if found:
                return found
    return None


def _refuse_unknown(
    settings: Mapping[str, Any], known: set[str], paradigm: str, where: Path
) -> None:
    """A LabError naming the first setting of ``where`` that ``paradigm`` does not have."""
    found = _first_unknown(settings, known)
    if found is None:
        return
    path, relative = found
    head = f"{where}: setting '{path}' is not a setting of {paradigm}"
    nearest = _nearest(relative, known)
    if nearest is not None:
        shown = path[: len(path) - len(relative)] + nearest  # the variant's prefix kept
        raise LabError(f"{head}; did you mean '{shown}'?")
    parent = relative.rpartition(".")[0]
    names = sorted(p.rpartition(".")[2] for p in known if p.rpartition(".")[0] == parent)
    group = f"the settings under '{parent}'" if parent else "its settings"
    raise LabError(f"{head}; {group} are {', '.join(names)}.")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LabError(f"{path}: configuration file not found.") from None
    except OSError as error:  # a folder, or no permission to read
        raise LabError(
            f"{path}: the configuration file cannot be read ({error.strerror})."
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise LabError(f"{path}: is not valid YAML{where}.") from None
    if not isinstance(content, dict):
        raise LabError(f"{path}: must hold a mapping of settings, not {type(content).__name__}.")
    return content


def _require(config: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise LabError(f"{where}: setting '{key}' is missing.")
        node = node[part]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(node, kinds) or (isinstance(node, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise LabError(f"{where}: setting '{key}' is {node!r}, but must be a {names}.")
    return node


def _check(config: dict[str, Any], where: str) -> dict[str, Any]:
    _require(config, "experiment", str, where)
    _require(config, "stimuli", dict, where)
    grey = _require(config, "background_grey", (int, float), where)
    if not 0 <= grey <= 1:
        raise LabError(f"{where}: setting 'background_grey' is {grey}, but must lie in [0, 1].")
    durations = _require(config, "durations_ms", dict, where)
    for name, value in durations.items():
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        ok |= (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, (int, float)) for v in value)
        )
        if not ok:
            raise LabError(
                f"{where}: setting 'durations_ms.{name}' is {value!r}; give milliseconds or a "
                "[low, high] range."
            )
    kind = _require(config, "response.type", str, where)
    if kind not in _RESPONSE_TYPES:
        raise LabError(
            f"{where}: setting 'response.type' is '{kind}', not one of "
            f"{', '.join(_RESPONSE_TYPES)}."
        )
    if kind == "keys":  # the key of each category
        _require(config, "response.keys", dict, where)
    if kind == "icons":  # the rows of the icon screen
        _require(config, "response.icons", list, where)
    for key in ("practice_trials", "break_every"):
        whole_number(f"{where}: setting '{key}'", config.get(key, 0), error=LabError)
    if config.get("seed") is not None:
        whole_number(f"{where}: setting 'seed'", config["seed"], error=LabError)
    mask = config.get("mask_paradigm")
    if mask is not None and mask not in PARADIGM_MASKS:
        raise LabError(
            f"{where}: setting 'mask_paradigm' is {mask!r}, not one of {', '.join(PARADIGM_MASKS)}."
        )
    icon_dir = config.get("response", {}).get("icon_dir")
    if icon_dir is not None and not Path(icon_dir).is_dir():
        raise LabError(f"{where}: setting 'response.icon_dir' is {icon_dir}, not a folder.")
    rt = config.get("simulation", {}).get("rt_ms", [300, 800])
    if not (isinstance(rt, list) and len(rt) == 2 and 0 <= rt[0] <= rt[1]):
        raise LabError(
            f"{where}: setting 'simulation.rt_ms' is {rt!r}; give a [low, high] range in ms."
        )
    return config


def load_config(paradigm: str, override: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The paradigm's configuration: ``experiments/<paradigm>.yaml`` merged with ``override``.

    Parameters
    ----------
    paradigm
        One of :data:`PARADIGMS` (or any ``experiments/<name>.yaml``).
    override
        A lab's YAML file; its settings replace the defaults key by key (nested mappings
        are merged).

    Returns
    -------
    dict
        The checked settings, with ``_sources`` listing the files read.

    Raises
    ------
    LabError
        A file cannot be read or is not a mapping, a setting is missing or invalid, or
        ``override`` (or a counterbalancing variant) has a setting the paradigm does not
        have: one that is neither in its YAML nor in :data:`OPTIONAL_SETTINGS`, named with
        the nearest one that is (``durations_ms.stimuls``: did you mean
        ``durations_ms.stimulus``?).
    """
    path = experiments_dir() / f"{paradigm}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in experiments_dir().glob("*.yaml"))
        raise LabError(f"experiment: '{paradigm}' is not one of {', '.join(known)}.")
    config = _read_yaml(path)
    known = _setting_paths(config) | {
        optional.rsplit(".", depth)[0]  # with the groups they are in
        for optional in OPTIONAL_SETTINGS
        for depth in range(optional.count(".") + 1)
    }
    _refuse_unknown(config, known, paradigm, path)  # its counterbalancing variants
    sources = [str(path)]
    if override is not None:
        extra = _read_yaml(Path(override))
        _refuse_unknown(extra, known, paradigm, Path(override))
        config = merge_settings(config, extra)
        sources.append(str(override))
    checked = _check(config, " + ".join(sources))
    checked["_sources"] = sources
    return checked
