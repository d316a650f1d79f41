"""Experiment configuration: the paradigm's YAML, merged with a lab's own file, checked."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from psychoalign.lab.errors import LabError
from psychoalign.stimuli.masks import PARADIGM_MASKS

__all__ = ["PARADIGMS", "experiments_dir", "load_config"]

#: The paradigms shipped in ``experiments/``.
PARADIGMS = ("rapid_categorization", "noise_degraded", "metamer_recognition", "clickme")
_ENVIRONMENT = "PSYCHOALIGN_EXPERIMENTS"
_RESPONSE_TYPES = ("keys", "icons", "clicks")


def experiments_dir() -> Path:
    """The paradigm scripts and YAML files: ``$PSYCHOALIGN_EXPERIMENTS`` or the checkout's."""
    configured = os.environ.get(_ENVIRONMENT)
    folder = Path(configured) if configured else Path(__file__).resolve().parents[3] / "experiments"
    if not folder.is_dir():
        raise LabError(
            f"the experiments folder {folder} does not exist; run from a psychoalign checkout "
            f"or set {_ENVIRONMENT}."
        )
    return folder


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        content = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LabError(f"{path}: configuration file not found.") from None
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
    for key in ("practice_trials", "break_every"):
        value = config.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise LabError(
                f"{where}: setting '{key}' is {value!r}, but must be a whole number >= 0."
            )
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
        config = _merge(config, _read_yaml(Path(override)))
        sources.append(str(override))
    checked = _check(config, " + ".join(sources))
    checked["_sources"] = sources
    return checked
