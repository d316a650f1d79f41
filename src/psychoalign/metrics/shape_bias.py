"""Shape bias on cue-conflict stimuli (Geirhos et al. 2019)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychoalign._checks import fraction
from psychoalign.errors import TrialDataError
from psychoalign.metrics._stats import wilson_interval
from psychoalign.trials import require_columns

__all__ = ["cue_conflict_categories", "cue_conflict_experiments", "shape_bias"]

_CUE_CONFLICT_NAME = r"^(?P<shape>[A-Za-z]+)\d+-(?P<texture>[A-Za-z]+)\d+\.\w+$"


def cue_conflict_categories(trials: pd.DataFrame) -> pd.DataFrame:
    """Shape and texture category of every cue-conflict trial.

    Parameters
    ----------
    trials
        Trial table. The texture category comes from a ``texture`` column when there is
        one, otherwise from the image name ``<shape><n>-<texture><m>.png`` of the
        cue-conflict stimuli (``bird2-clock3.png``: a bird shape with clock texture).

    Returns
    -------
    pandas.DataFrame
        ``shape, texture`` aligned with ``trials``; ``shape`` is the trial's ``category``.

    Examples
    --------
    >>> frame = pd.DataFrame({"image": ["bird2-clock3.png"], "category": ["bird"]})
    >>> cue_conflict_categories(frame).iloc[0].tolist()
    ['bird', 'clock']
    """
    if "texture" in trials.columns:
        return pd.DataFrame({"shape": trials["category"], "texture": trials["texture"]})
    parsed = trials["image"].str.extract(_CUE_CONFLICT_NAME)
    unparsed = parsed["texture"].isna().to_numpy()
    if unparsed.any():
        position = int(np.flatnonzero(unparsed)[0])
        raise TrialDataError(
            f"row {trials.index[position]}: column 'image' has "
            f"'{trials['image'].iloc[position]}', which does not name a cue-conflict "
            "stimulus '<shape><n>-<texture><m>.png'; give a 'texture' column instead."
        )
    mismatch = (parsed["shape"] != trials["category"]).to_numpy()
    if mismatch.any():
        position = int(np.flatnonzero(mismatch)[0])
        raise TrialDataError(
            f"row {trials.index[position]}: column 'category' has "
            f"'{trials['category'].iloc[position]}' but the image "
            f"'{trials['image'].iloc[position]}' has a {parsed['shape'].iloc[position]} shape."
        )
    return pd.DataFrame({"shape": trials["category"], "texture": parsed["texture"]})


def cue_conflict_experiments(trials: pd.DataFrame, declared: Sequence[str] = ()) -> list[str]:
    """The cue-conflict experiments of a trial table, whatever they are called.

    Parameters
    ----------
    trials
        Trial table.
    declared
        Experiments declared cue-conflict (``--cue-conflict``), whatever their image
        names: their texture categories come from a ``texture`` column or the image
        names (see :func:`cue_conflict_categories`).

    Returns
    -------
    list of str
        Sorted: the declared experiments and every experiment whose images all name a
        cue-conflict stimulus ``<shape><n>-<texture><m>.png`` with the trial's category
        as the shape (as model-vs-human's ``cue-conflict`` and texture-vs-shape's
        ``style-transfer-512-nomask-experiment`` name them).

    Raises
    ------
    TrialDataError
        A declared experiment is not in the table.

    Examples
    --------
    >>> frame = pd.DataFrame({"experiment": ["a", "b"], "image": ["cat2-dog1.png", "x.png"],
    ...                       "category": ["cat", "cat"]})
    >>> cue_conflict_experiments(frame)
    ['a']
    """
    require_columns(trials, ["experiment", "image", "category"])
    present = set(trials["experiment"])
    for experiment in declared:
        if experiment not in present:
            raise TrialDataError(
                f"cue_conflict: experiment '{experiment}' is not in the trials (they have "
                f"{', '.join(sorted(present))})."
            )
    parsed = trials["image"].str.extract(_CUE_CONFLICT_NAME)
    named = (parsed["shape"] == trials["category"]).to_numpy()
    recognised = pd.Series(named).groupby(trials["experiment"].to_numpy()).all()
    return sorted(set(declared) | set(recognised.index[recognised.to_numpy()]))


def shape_bias(
    trials: pd.DataFrame,
    *,
    by: Sequence[str] = ("experiment",),
    per_category: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    r"""Fraction of shape decisions among shape-or-texture decisions on cue-conflict trials.

    Parameters
    ----------
    trials
        Trial table of a cue-conflict experiment (see :func:`cue_conflict_categories`).
    by
        Columns to group by besides the observer.
    per_category
        Also split by shape category (the per-category plot of Geirhos et al. 2019).
    confidence
        Coverage of the Wilson interval of the shape bias.

    Returns
    -------
    pandas.DataFrame
        ``*by, observer, observer_kind, [category,] n_trials, n_shape, n_texture,
        shape_bias, ci_low, ci_high, shape_or_texture``: ``n_trials`` counts the trials
        whose shape and texture categories differ; ``shape_or_texture`` is the fraction
        of them answered with either.

    Notes
    -----
    .. math:: \text{shape bias} = \frac{n_{shape}}{n_{shape} + n_{texture}}

    over trials whose shape and texture categories differ; a response that is neither
    (another category, or ``na``) does not enter the ratio.

    References
    ----------
    .. [1] Geirhos, Rubisch, Michaelis, Bethge, Wichmann & Brendel (2019).
       ImageNet-trained CNNs are biased towards texture; increasing shape bias
       improves accuracy and robustness. ICLR.

    Examples
    --------
    >>> from psychoalign.datasets import load_model_vs_human
    >>> bias = shape_bias(load_model_vs_human("cue-conflict"))
    >>> round(float(bias.shape_bias.mean()), 2)
    0.96
    """
    fraction("confidence", confidence)
    by = list(by)
    require_columns(trials, [*by, "observer", "observer_kind", "category", "response", "image"])
    cues = cue_conflict_categories(trials)
    conflict = (cues["shape"] != cues["texture"]).to_numpy()
    frame = trials.loc[conflict, [*by, "observer", "observer_kind", "category"]].assign(
        n_shape=(trials["response"] == cues["shape"]).to_numpy()[conflict],
        n_texture=(trials["response"] == cues["texture"]).to_numpy()[conflict],
    )
    keys = [*by, "observer", "observer_kind"] + (["category"] if per_category else [])
    table = (
        frame.groupby(keys, sort=True)
        .agg(
            n_trials=("n_shape", "size"), n_shape=("n_shape", "sum"), n_texture=("n_texture", "sum")
        )
        .reset_index()
    )
    decided = table["n_shape"] + table["n_texture"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["shape_bias"] = table["n_shape"] / decided
    table["ci_low"], table["ci_high"] = wilson_interval(
        table["n_shape"].to_numpy(), decided.to_numpy(), confidence
    )
    table["shape_or_texture"] = decided / table["n_trials"]
    return table
