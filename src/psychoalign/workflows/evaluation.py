"""Evaluate models on stimulus sets: one atomic, cached unit of work per model x set."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from psychoalign._io import (
    bytes_sha256,
    check_output_folder,
    remove_stale_temporaries,
    replaced_folder,
)
from psychoalign.models.mappings import DecisionMapping
from psychoalign.models.observer import ModelObserver
from psychoalign.models.zoo import ModelError, VisionModel, load_model
from psychoalign.stimuli import StimulusSet

__all__ = ["RUN_FILE", "evaluate", "unit_key"]

TRIALS_FILE = "trials.csv"
PROBABILITIES_FILE = "probabilities.csv"
RUN_FILE = "run.json"


def unit_key(observer: ModelObserver, stimuli: StimulusSet) -> str:
    """Identity of a unit of work: model, weights hash, set checksum, mapping, size handling."""
    from psychoalign import __version__

    parts = {
        "model": observer.model.name,
        "observer": observer.name,
        "weights_sha256": observer.model.weights_sha256,
        "stimulus_set": stimuli.checksum,
        "mapping": observer.mapping.checksum,
        "size_handling": observer.size_handling,
        "psychoalign": __version__,
    }
    return bytes_sha256(json.dumps(parts, sort_keys=True).encode())


def _existing_key(folder: Path) -> str | None:
    try:
        return json.loads((folder / RUN_FILE).read_text()).get("key")
    except (OSError, json.JSONDecodeError):
        return None


def _write_unit(folder: Path, run: Any, record: dict[str, Any]) -> None:
    """Write trials, probabilities and run.json into a staging folder, then swap it in."""
    with replaced_folder(folder) as staging:
        run.trials.to_csv(staging / TRIALS_FILE, index=False)
        run.probabilities.to_csv(staging / PROBABILITIES_FILE, index=False)
        (staging / RUN_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")


def evaluate(
    models: Sequence[str | VisionModel],
    stimulus_sets: Sequence[StimulusSet | str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    mapping: str | DecisionMapping = "imagenet-16",
    weights: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
    size_handling: str = "whole",
    device: str | None = None,
    force: bool = False,
    progress: bool = True,
    labels: Sequence[str] | str | os.PathLike[str] | None = None,
    trust_pickle: bool = False,
) -> pd.DataFrame:
    """Run every model on every stimulus set; skip units whose output exists for the same inputs.

    Parameters
    ----------
    models
        Model names (:func:`~psychoalign.models.zoo.load_model`) or loaded models.
    stimulus_sets
        Saved stimulus sets, or their folders.
    out
        Results folder: each unit is ``out/<set>/<observer>/`` with ``trials.csv`` (a
        trial file :func:`psychoalign.read_trials` and ``psychoalign compare`` read
        beside human data), ``probabilities.csv`` (``observer, stimulus, category,
        probability``) and ``run.json`` (provenance and the unit's key).
    mapping
        Decision mapping name or object.
    weights
        Local weights file; only with a single model name.
    batch_size, size_handling, device
        As for :class:`~psychoalign.models.observer.ModelObserver`.
    force
        Re-run units even when their output is current.
    progress
        Show progress bars.
    labels, trust_pickle
        Output labels of model files, and whether a pickled model file may load (see
        :func:`~psychoalign.models.zoo.load_model`).

    Returns
    -------
    pandas.DataFrame
        One row per unit: ``model, stimulus_set, status`` (``ran`` or ``skipped``),
        ``n_trials, accuracy, folder, key``.

    Notes
    -----
    A unit's key is the SHA-256 of its inputs (:func:`unit_key`: model and observer
    name, weights SHA-256, set checksum, mapping checksum, size handling, psychoalign
    version). A unit is written into a hidden staging folder and renamed into place,
    so an interrupted sweep leaves only complete units, and rerunning it does the rest.
    """
    if weights is not None and len(models) != 1:
        raise ModelError("weights: a weights file applies to a single model; give one --model.")
    sets = [s if isinstance(s, StimulusSet) else StimulusSet.open(s) for s in stimulus_sets]
    out = check_output_folder(out)
    rows = []
    for model in models:
        loaded = (
            load_model(
                model, weights=weights, labels=labels, device=device, trust_pickle=trust_pickle
            )
            if isinstance(model, str)
            else model
        )
        observer = ModelObserver(
            loaded, mapping, batch_size=batch_size, size_handling=size_handling, device=device
        )
        for stimuli in sets:
            folder = out / stimuli.name / observer.name
            remove_stale_temporaries(folder)  # a killed run's staging folder
            key = unit_key(observer, stimuli)
            if not force and _existing_key(folder) == key:
                trials = pd.read_csv(folder / TRIALS_FILE, usecols=["correct"])
                status = "skipped"
            else:
                run = observer.run(stimuli, progress=progress)
                _write_unit(folder, run, {**run.info, "key": key})
                trials = run.trials
                status = "ran"
            rows.append(
                {
                    "model": observer.name,
                    "stimulus_set": stimuli.name,
                    "status": status,
                    "n_trials": len(trials),
                    "accuracy": float(trials["correct"].mean()),
                    "folder": str(folder),
                    "key": key,
                }
            )
    return pd.DataFrame(rows)
