"""Every comparison table psychoalign computes for a trial table, in one call."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from psychoalign._checks import DEFAULT_N_BOOT
from psychoalign.errors import TrialDataError
from psychoalign.metrics.accuracy import accuracy
from psychoalign.metrics.benchmark import (
    MODEL_VS_HUMAN_EXCLUDED_CONDITIONS,
    benchmark,
    check_shared_stimuli,
)
from psychoalign.metrics.error_consistency import error_consistency
from psychoalign.metrics.image_level import image_accuracy_correlation
from psychoalign.metrics.rajalingham import behavioural_consistency
from psychoalign.metrics.shape_bias import cue_conflict_experiments, shape_bias

__all__ = ["PRESETS", "comparison_tables"]

#: Named settings of published benchmarks: conditions left out of the benchmark table.
PRESETS: dict[str, dict] = {
    "model-vs-human": {"excluded_conditions": MODEL_VS_HUMAN_EXCLUDED_CONDITIONS},
}
_SIGNATURE_METRICS = ("O1", "O2", "I1n", "I2n")


def comparison_tables(
    trials: pd.DataFrame,
    *,
    preset: str | None = None,
    n_boot: int = 0,
    n_splits: int = 100,
    seed: int = 0,
    cue_conflict: Sequence[str] = (),
) -> dict[str, pd.DataFrame]:
    """Compute the comparison tables of a trial table.

    Parameters
    ----------
    trials
        Validated trial table.
    preset
        ``"model-vs-human"`` or None (see :data:`PRESETS`).
    n_boot
        Bootstrap resamples for the error-consistency intervals and, when positive, for
        the image-level ceiling. The default 0 means no error-consistency intervals by
        design (they multiply the cost of the largest table); the image-level ceiling is
        always bootstrapped, with the analysis side's default of 1000 resamples then.
    n_splits
        Split halves for the behavioural consistency.
    seed
        Seed of every resampling.
    cue_conflict
        Experiments to treat as cue-conflict experiments besides those recognised from
        their image names (see :func:`~psychoalign.metrics.cue_conflict_experiments`).

    Returns
    -------
    dict of str to pandas.DataFrame
        Always ``accuracy``, ``error_consistency`` and ``benchmark``; ``shape_bias`` when
        there are cue-conflict experiments (a row per experiment and observer);
        ``image_accuracy`` and ``behavioural_consistency`` (O1, O2, I1n, I2n, split over
        trials) when an experiment has both human and model observers.
    """
    if preset is not None and preset not in PRESETS:
        raise TrialDataError(f"preset: '{preset}' is not one of {', '.join(PRESETS)}.")
    settings = PRESETS.get(preset, {}) if preset else {}
    check_shared_stimuli(trials)
    tables = {
        "accuracy": accuracy(trials),
        "error_consistency": error_consistency(trials, n_boot=n_boot, seed=seed),
        "benchmark": benchmark(trials, excluded_conditions=settings.get("excluded_conditions")),
    }
    conflicts = cue_conflict_experiments(trials, cue_conflict)
    if conflicts:
        tables["shape_bias"] = shape_bias(trials[trials["experiment"].isin(conflicts)])
    kinds = trials.groupby("experiment")["observer_kind"].nunique()
    mixed = trials[trials["experiment"].isin(kinds.index[kinds == 2])]
    if len(mixed):
        tables["image_accuracy"] = image_accuracy_correlation(
            mixed, n_boot=n_boot or DEFAULT_N_BOOT, seed=seed
        )
        tables["behavioural_consistency"] = pd.concat(
            [
                behavioural_consistency(mixed, metric, n_splits=n_splits, seed=seed)
                for metric in _SIGNATURE_METRICS
            ],
            ignore_index=True,
        )
    return tables
