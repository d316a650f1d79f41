"""Recognisability of model metamers: accuracy per metamer model x layer against natural images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychoalign._checks import DEFAULT_N_BOOT
from psychoalign._deprecated import moved
from psychoalign.errors import TrialDataError
from psychoalign.metrics.accuracy import accuracy
from psychoalign.trials import require_columns

__all__ = ["metamer_recognisability"]

#: The metamer manifest's rules live in psychoalign.stimuli.metamer_sets (metrics do not
#: import stimuli); the old names here find them there, with a DeprecationWarning.
__getattr__ = moved(
    __name__,
    {
        "NATURAL": "psychoalign.stimuli.metamer_sets",
        "valid_metamers": "psychoalign.stimuli.metamer_sets",
    },
)

_COLUMNS = [
    "metamer_model",
    "condition",
    "group",
    "observer_kind",
    "n_observers",
    "n_trials",
    "accuracy",
    "ci_low",
    "ci_high",
]


def _layer_order(conditions: Sequence[str], natural: str) -> list[str]:
    layers = sorted(set(conditions) - {natural}, key=lambda name: (len(name), name))
    return [natural, *layers] if natural in set(conditions) else layers


def _ordered_layers(conditions: pd.Series, natural: str, layers: Sequence[str] | None) -> list[str]:
    """The conditions in plot order, natural images first; refuses one not in ``layers``."""
    order = list(layers) if layers is not None else _layer_order(conditions, natural)
    if layers is not None and natural in set(conditions) and natural not in order:
        order = [natural, *order]
    unknown = sorted(set(conditions) - set(order))
    if unknown:
        raise TrialDataError(f"layers: condition '{unknown[0]}' of the trials is not listed.")
    return order


def _group_rows(
    per_observer: pd.DataFrame, n_boot: int, confidence: float, seed: int
) -> list[tuple]:
    """One row per metamer model x condition x group: humans pooled, each model alone."""
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    rows = []
    for (model, condition), group in per_observer.groupby(["metamer_model", "condition"]):
        humans = group[group["observer_kind"] == "human"]
        if len(humans):
            values = humans["accuracy"].to_numpy()
            draws = rng.choice(values, size=(n_boot, len(values))).mean(axis=1)
            rows.append(
                (
                    model,
                    condition,
                    "humans",
                    "human",
                    len(values),
                    int(humans["n_trials"].sum()),
                    float(values.mean()),
                    float(np.quantile(draws, alpha)),
                    float(np.quantile(draws, 1 - alpha)),
                )
            )
        for row in group[group["observer_kind"] != "human"].itertuples(index=False):
            rows.append(
                (
                    model,
                    condition,
                    row.observer,
                    row.observer_kind,
                    1,
                    int(row.n_trials),
                    float(row.accuracy),
                    float(row.ci_low),
                    float(row.ci_high),
                )
            )
    return rows


def metamer_recognisability(
    trials: pd.DataFrame,
    *,
    natural: str = "natural",
    layers: Sequence[str] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    r"""How well each observer group recognises each model x layer's metamers and the naturals.

    Parameters
    ----------
    trials
        Trial table of a metamer experiment (humans from ``metamer_recognition``, model
        observers from ``psychoalign evaluate`` on the metamer set): ``condition`` is
        ``natural`` or the layer the metamer matches; the model the metamers come from
        is ``metamer_model`` when the table has that column (empty cells included), else
        the ``experiment``. Trials of model observers run with ``psychoalign evaluate``
        carry no ``metamer_model``: join them with the metamer set first
        (:func:`psychoalign.stimuli.metamer_sets.join_metamer_set`, which also leaves out
        the metamers that failed validation, as the ``metamer_recognition`` experiment
        does).
    natural
        The condition label of the natural images.
    layers
        Order of the layers (default: by name length, then name — ``features.2`` before
        ``features.10``), natural images first.
    n_boot, confidence, seed
        Bootstrap over human participants for the human interval.

    Returns
    -------
    pandas.DataFrame
        ``metamer_model, condition, position, group, observer_kind, n_observers, n_trials,
        accuracy, ci_low, ci_high, natural_accuracy, relative_accuracy``. ``group`` is
        ``humans`` (all human participants together) or a model observer's name;
        ``position`` the layer's place in ``layers`` (0 for natural images).

    Notes
    -----
    For humans, accuracy is the mean over participants of each participant's proportion
    correct (``na`` is wrong), with a percentile bootstrap interval over participants;
    for a model observer it is its proportion correct with Wilson's interval. Catch trials
    (``trial_type`` = ``catch``: natural images shown between the others to check
    attention) are not counted.
    ``relative_accuracy`` = accuracy / accuracy on the natural images of the same group
    and metamer model: 1 means the metamers are as recognisable as the images they were
    matched to. Feather et al. (2023) call metamers *recognisable* to an observer when
    this accuracy is close to the natural-image accuracy, and report late-layer metamers
    of standard networks as unrecognisable to humans although the network classifies
    them as the natural image.

    References
    ----------
    .. [1] Feather, Durango, Gonzalez & McDermott (2019). Metamers of neural networks
       reveal divergence from human perceptual systems. NeurIPS.
    .. [2] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
       invariances between biological and artificial neural networks. Nature
       Neuroscience, 26, 2017-2034.
    """
    require_columns(trials, ["experiment", "condition", "observer", "observer_kind", "correct"])
    data = trials.copy()
    if "trial_type" in data.columns:
        data = data[data["trial_type"].astype(str) != "catch"]
    if "metamer_model" not in data.columns:
        data["metamer_model"] = ""
    missing = data["metamer_model"].isna() | (data["metamer_model"].astype(str) == "")
    data["metamer_model"] = data["metamer_model"].astype(str).where(~missing, data["experiment"])
    data["correct"] = data["correct"].astype(bool)
    per_observer = accuracy(data, by=("metamer_model", "condition"), confidence=confidence)
    order = _ordered_layers(data["condition"], natural, layers)
    table = pd.DataFrame(_group_rows(per_observer, n_boot, confidence, seed), columns=_COLUMNS)
    table.insert(2, "position", table["condition"].map({c: i for i, c in enumerate(order)}))
    naturals = table[table["condition"] == natural].set_index(["metamer_model", "group"])[
        "accuracy"
    ]
    keys = pd.MultiIndex.from_frame(table[["metamer_model", "group"]])
    table["natural_accuracy"] = naturals.reindex(keys).to_numpy()
    table["relative_accuracy"] = table["accuracy"] / table["natural_accuracy"]
    return table.sort_values(["metamer_model", "group", "position"], ignore_index=True)
