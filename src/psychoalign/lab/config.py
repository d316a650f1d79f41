"""Experiment configuration: the paradigm's YAML, merged with a lab's own file, checked."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from psychoalign._checks import whole_number
from psychoalign.lab.errors import LabError
from psychoalign.stimuli.masks import PARADIGM_MASKS

__all__ = ["PARADIGMS", "experiments_dir", "load_config", "merge_settings"]

#: The paradigms shipped in ``experiments/``.
PARADIGMS = ("rapid_categorization", "noise_degraded", "metamer_recognition", "clickme")
_ENVIRONMENT = "PSYCHOALIGN_EXPERIMENTS"
_RESPONSE_TYPES = ("keys", "icons", "clicks")


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
    """
    path = experiments_dir() / f"{paradigm}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in experiments_dir().glob("*.yaml"))
        raise LabError(f"experiment: '{paradigm}' is not one of {', '.join(known)}.")
    config = _read_yaml(path)
    sources = [str(path)]
    if override is not None:
        config = merge_settings(config, _read_yaml(Path(override)))
        sources.append(str(override))
    checked = _check(config, " + ".join(sources))
    checked["_sources"] = sources
    return checked
