"""The rules of a metamer stimulus set's manifest, in one place (torch-free).

A metamer set (made by :func:`psychoalign.workflows.make_metamer_set`) holds natural images
under condition :data:`NATURAL` and their metamers under one condition per layer. Beside
the stimulus set's own columns its manifest has ``model`` (the model the metamers match),
``layer`` (empty for natural images), ``valid`` (whether the metamer passed validation;
True for natural images), ``seed`` and ``source`` (the source stimulus). The PsychoPy
experiment, the recognisability analysis and the synthesis all read these rules from here.

Examples
--------
>>> import pandas as pd
>>> manifest = pd.DataFrame(
...     {
...         "stimulus": ["natural/cat1.png", "_blocks.1/cat1.png"],
...         "model": ["efficientnet_lite0"] * 2,
...         "valid": ["True", "False"],
...     }
... )
>>> valid_metamers(manifest).tolist()
[True, False]
>>> metamer_stimulus("_blocks.1", "cat/cat1.jpg")
'_blocks.1/cat/cat1.png'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from psychoalign.errors import PsychoalignError, StimulusSetError, TrialDataError
from psychoalign.stimuli.stimulus_set import derived_stimulus
from psychoalign.trials import require_columns

__all__ = [
    "NATURAL",
    "distinct_layers",
    "join_metamer_set",
    "layer_conditions",
    "metamer_stimulus",
    "valid_metamers",
]

#: Condition label of the natural images in a metamer stimulus set.
NATURAL = "natural"
#: Spellings of a true ``valid`` flag in a manifest (which stores it as text).
_TRUE = ("True", "true", "1")


def valid_metamers(manifest: pd.DataFrame) -> pd.Series:
    """Whether each row of a metamer set's manifest passed validation (column ``valid``).

    Parameters
    ----------
    manifest
        A metamer set's manifest, with column ``valid``.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``manifest``: True where ``valid`` reads ``True``, ``true``
        or ``1`` (the manifest stores the flag as text; natural images are valid), False
        for anything else, empty cells included.
    """
    return manifest["valid"].astype(str).isin(list(_TRUE))


def metamer_stimulus(condition: str, source: str) -> str:
    """The stimulus id of a metamer set's image made from source stimulus ``source``.

    Natural images are the source files copied unchanged, ``natural/<source>``; metamers
    are 8-bit PNGs, ``<layer>/<source>.png``
    (:func:`~psychoalign.stimuli.stimulus_set.derived_stimulus`).
    """
    if condition == NATURAL:
        return str(PurePosixPath(NATURAL) / source)
    return derived_stimulus(condition, source)


def distinct_layers(
    layers: str | Sequence[str], *, error: type[PsychoalignError] = StimulusSetError
) -> list[str]:
    """The layers as a list, refusing none and repeats with ``error``.

    Parameters
    ----------
    layers
        One layer name or several.
    error
        The error class of the refusal (the caller's domain).

    Returns
    -------
    list of str
        The layers in the order given.
    """
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise error("layers: at least one layer is needed.")
    repeated = [layer for index, layer in enumerate(layers) if layer in layers[:index]]
    if repeated:
        raise error(f"layers: '{repeated[0]}' is given twice.")
    return layers


def layer_conditions(layers: str | Sequence[str]) -> list[str]:
    """Layers that can be conditions of a metamer set (folders beside :data:`NATURAL`).

    Parameters
    ----------
    layers
        Layer names.

    Returns
    -------
    list of str
        The layers in the order given.

    Raises
    ------
    StimulusSetError
        For no layer, a repeat, :data:`NATURAL`, or a name that cannot name a folder.
    """
    layers = distinct_layers(layers, error=StimulusSetError)
    for layer in layers:
        if layer == NATURAL:
            raise StimulusSetError(
                f"layers: '{NATURAL}' is the condition of the natural images, not a layer."
            )
        if not layer or "/" in layer or "\\" in layer or layer.startswith("."):
            raise StimulusSetError(f"layers: '{layer}' cannot name a condition folder.")
    return layers


def join_metamer_set(
    trials: pd.DataFrame, metamer_set: Any, *, include_failed: bool = False
) -> pd.DataFrame:
    """Trials on a metamer set with the model of each metamer, failed metamers left out.

    Parameters
    ----------
    trials
        Trial table with column ``stimulus`` (humans from ``metamer_recognition``, model
        observers from ``psychoalign evaluate`` on the set).
    metamer_set
        The metamer stimulus set the trials were run on (a
        :class:`~psychoalign.stimuli.StimulusSet` or its manifest), joined on
        ``stimulus``.
    include_failed
        Keep trials on metamers whose ``valid`` is false (by default they are left out,
        as the ``metamer_recognition`` experiment leaves them out).

    Returns
    -------
    pandas.DataFrame
        A copy of the trials with column ``metamer_model`` (the manifest's ``model``),
        ready for :func:`psychoalign.metrics.metamer_recognisability`.

    Raises
    ------
    TrialDataError
        When the trials have no ``stimulus``, the manifest no ``stimulus`` or ``model``,
        or a trial's stimulus is not in the manifest.
    """
    manifest = getattr(metamer_set, "manifest", metamer_set)
    require_columns(trials, ["stimulus"], "metamer_set")
    missing = [column for column in ("stimulus", "model") if column not in manifest.columns]
    if missing:
        folder = getattr(metamer_set, "path", None)
        where = f"{Path(folder) / 'manifest.csv'}" if folder is not None else "metamer_set"
        raise TrialDataError(
            f"{where}: column '{missing[0]}' is missing, so this is not a metamer set made "
            "by 'psychoalign metamers'."
        )
    rows = manifest.set_index("stimulus")
    unknown = sorted(set(trials["stimulus"]) - set(rows.index))
    if unknown:
        raise TrialDataError(
            f"trials: stimulus '{unknown[0]}' is not in the metamer set's manifest; give "
            "the set the trials were run on."
        )
    data = trials.copy()
    data["metamer_model"] = data["stimulus"].map(rows["model"]).astype(str)
    if include_failed or "valid" not in rows.columns:
        return data
    return data[data["stimulus"].map(valid_metamers(rows)).to_numpy()]
