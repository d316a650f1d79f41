"""Published metamer recognisability (Feather et al. 2023): .mat matrices in, tables out.

:func:`read_recognisability_matrices` reads the public data matrices of Feather et al.
(2023) into one tidy table; :func:`published_recognisability` writes their mean
recognisability per model, layer and observer group with t intervals, one mixed ANOVA
per model (observer group between, layer within, permutation p-values) and the figure.

References
----------
.. [1] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
   invariances between biological and artificial neural networks. Nature Neuroscience,
   26, 2017-2034.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from scipy import stats

from psychoalign._checks import whole_number
from psychoalign._io import check_output_folder, staged_outputs
from psychoalign._progress import progress_bar
from psychoalign.errors import MissingFileError, ParameterError, TrialDataError
from psychoalign.provenance import provenance, write_outputs

__all__ = [
    "ANOVA_TABLE_COLUMNS",
    "OBSERVER_GROUPS",
    "RECOGNISABILITY_COLUMNS",
    "PublishedRecognisability",
    "published_recognisability",
    "read_recognisability_matrices",
]

#: The files' ``conditions`` -> the ``observer_group`` of the tidy table.
OBSERVER_GROUPS = {"Human": "human", "Network": "model"}
#: Columns of ``recognisability.csv``, in order.
RECOGNISABILITY_COLUMNS = [
    "experiment",
    "model",
    "layer",
    "observer_group",
    "n_participants",
    "accuracy",
    "ci_low",
    "ci_high",
]
#: Columns of ``anova.csv``, in order.
ANOVA_TABLE_COLUMNS = [
    "experiment",
    "model",
    "source",
    "df1",
    "df2",
    "F",
    "p",
    "p_permutation",
    "partial_eta_squared",
]
_TIDY_COLUMNS = [
    "experiment",
    "model",
    "layer",
    "layer_index",
    "observer_group",
    "participant",
    "accuracy",
]
_MATRIX = "participant_data_matrix"
_AXES = ("participants", "model_layers", "conditions")
_NAME = re.compile(r"_datamatrix_(?P<model>.+)_public$")
_EXPERIMENT = re.compile(r"Experiment(?P<number>\d+)(?:_|$)")
_FOLDER = re.compile(r"^EXP\d+$")
#: Coverage of the t intervals over participants.
CONFIDENCE = 0.95
_FIGURE = "recognisability_figure"


@dataclass
class PublishedRecognisability:
    """What :func:`published_recognisability` read, computed and wrote."""

    out: Path
    participants: pd.DataFrame
    recognisability: pd.DataFrame
    anova: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _mat_files(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The .mat files named, a folder standing for the .mat files in it (sorted)."""
    listed = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not listed:
        raise ParameterError("paths: no .mat file given.")
    files: list[Path] = []
    for path in map(Path, listed):
        if path.is_dir():
            found = sorted(path.glob("*.mat"))
            if not found:
                raise MissingFileError(f"{path}: folder holds no .mat file.")
            files += found
        elif not path.is_file():
            raise MissingFileError(f"{path}: no such file.")
        else:
            files.append(path)
    return files


def _names(path: Path) -> tuple[str, str]:
    """Experiment (``EXP1`` from ``VisionExperiment1_...`` or the folder) and model of a file."""
    model = _NAME.search(path.stem)
    if path.suffix.lower() != ".mat" or model is None:
        raise TrialDataError(
            f"{path}: file name does not end in '_datamatrix_<model>_public.mat', so the "
            "model cannot be told."
        )
    number = _EXPERIMENT.search(path.stem)
    if number is not None:
        return f"EXP{int(number['number'])}", model["model"]
    if _FOLDER.match(path.parent.name):
        return path.parent.name, model["model"]
    raise TrialDataError(
        f"{path}: neither the file name ('...Experiment<N>_...') nor the folder ('EXP<N>') "
        "names the experiment."
    )


def _labels(path: Path, contents: dict[str, Any], name: str) -> list[str]:
    """A variable of padded strings as a list of stripped strings."""
    if name not in contents:
        raise TrialDataError(f"{path}: has no variable '{name}'.")
    values = np.asarray(contents[name]).ravel()
    if values.dtype.kind != "U":
        raise TrialDataError(f"{path}: variable '{name}' holds {values.dtype}, not strings.")
    return [str(value).strip() for value in values]


def _matrix(path: Path, contents: dict[str, Any]) -> tuple[np.ndarray, list[str], list[str]]:
    """The checked participants x layers x conditions matrix, its participants and layers."""
    if _MATRIX not in contents:
        raise TrialDataError(f"{path}: has no variable '{_MATRIX}'.")
    matrix = np.asarray(contents[_MATRIX])
    layers = _labels(path, contents, "model_layers")
    conditions = _labels(path, contents, "conditions")
    axes = tuple(_labels(path, contents, "axis_order")) if "axis_order" in contents else _AXES
    if axes != _AXES:
        raise TrialDataError(
            f"{path}: variable 'axis_order' is {', '.join(axes)}, not {', '.join(_AXES)}."
        )
    if conditions != list(OBSERVER_GROUPS):
        raise TrialDataError(
            f"{path}: variable 'conditions' is {', '.join(conditions)}, not Human, Network."
        )
    people = len(matrix) if matrix.ndim else 0
    participants = (
        _labels(path, contents, "participants")
        if "participants" in contents
        else [str(i) for i in range(people)]
    )
    if matrix.dtype.kind not in "fiu" or matrix.shape != (len(participants), len(layers), 2):
        raise TrialDataError(
            f"{path}: variable '{_MATRIX}' is {matrix.dtype} of shape {matrix.shape}, not "
            f"numbers of shape ({len(participants)} participants, {len(layers)} "
            "model_layers, 2 conditions)."
        )
    bad = ~((matrix >= 0) & (matrix <= 1))
    if bad.any():
        person, layer, group = np.argwhere(bad)[0]
        raise TrialDataError(
            f"{path}: variable '{_MATRIX}' has {float(matrix[person, layer, group]):g} for "
            f"participant {participants[person]}, layer '{layers[layer]}', "
            f"{conditions[group]}: not a proportion in [0, 1]."
        )
    return matrix.astype(float), participants, layers


def _read_one(path: Path) -> pd.DataFrame:
    """One file's tidy rows."""
    from scipy.io import loadmat

    experiment, model = _names(path)
    try:
        contents = loadmat(path)
    # scipy's parser fails on foreign bytes with whatever error the bytes lead it to
    # (IndexError, ValueError, MatReadError...): each means the file is no v5 .mat file
    except Exception as error:
        raise TrialDataError(f"{path}: is not a MATLAB v5 .mat file ({error}).") from None
    matrix, participants, layers = _matrix(path, contents)
    person, layer, group = np.meshgrid(
        np.arange(len(participants)), np.arange(len(layers)), np.arange(2), indexing="ij"
    )
    groups = list(OBSERVER_GROUPS.values())
    frame = pd.DataFrame(
        {
            "experiment": experiment,
            "model": model,
            "layer": np.asarray(layers, dtype=object)[layer.ravel()],
            "layer_index": layer.ravel(),
            "observer_group": np.asarray(groups, dtype=object)[group.ravel()],
            "participant": np.asarray(participants, dtype=object)[person.ravel()],
            "accuracy": matrix.ravel(),
        }
    )
    return frame.sort_values(["observer_group", "layer_index"], kind="stable")


def read_recognisability_matrices(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> pd.DataFrame:
    """Read Feather et al. (2023)'s public recognisability matrices into one tidy table.

    Parameters
    ----------
    paths
        ``<...>Experiment<N>_..._datamatrix_<model>_public.mat`` files (MATLAB v5, as
        published), or folders of them; one file per experiment and model.

    Returns
    -------
    pandas.DataFrame
        One row per file, observer group, layer and participant: ``experiment`` (``EXP1``
        from ``VisionExperiment1`` in the file name, else the ``EXP<N>`` folder),
        ``model`` (the file name between ``_datamatrix_`` and ``_public``), ``layer``
        (``model_layers``, stripped; ``natural_image`` first), ``layer_index`` (0, 1, ...
        in the file's order), ``observer_group`` (``human`` for ``Human``, ``model`` for
        ``Network``), ``participant`` (``participants``, stripped; 0, 1, ... when the
        file has none) and ``accuracy`` (proportion correct).

    Notes
    -----
    The published ``Network`` rows differ between participants: each is read as the
    model's proportion correct on the stimuli that participant saw, so both groups have
    one row per participant. Files are refused, with the file and variable named, when
    they cannot be read, lack ``participant_data_matrix``,
    ``model_layers`` or ``conditions``, have an ``axis_order`` other than
    ``participants, model_layers, conditions``, a matrix of another shape, or a value
    that is not a proportion in [0, 1] (NaN included); two files of the same experiment
    and model are refused too.

    Examples
    --------
    With Feather et al.'s files in ``../shared/data/model-metamers/EXP1`` (not bundled)::

        table = read_recognisability_matrices("../shared/data/model-metamers/EXP1")
        table.groupby(["model", "observer_group"]).participant.nunique()  # 22 each
    """
    files = _mat_files(paths)
    seen: dict[tuple[str, str], Path] = {}
    for path in files:
        key = _names(path)
        if key in seen:
            raise ParameterError(
                f"paths: {path} and {seen[key]} both hold experiment {key[0]}, model '{key[1]}'."
            )
        seen[key] = path
    table = pd.concat([_read_one(path) for path in files], ignore_index=True)
    return table[_TIDY_COLUMNS]


def _t_interval(values: pd.Series) -> tuple[float, float, float, str | None]:
    """Mean and 95 % t interval over (at least 2) participants, and a note if it is empty."""
    n, mean = len(values), float(values.mean())
    spread = float(values.std(ddof=1))
    if spread == 0:
        return mean, mean, mean, "no variation over participants: the interval is the mean"
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * spread / np.sqrt(n)
    return mean, mean - half, mean + half, None


def _recognisability(participants: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Mean accuracy with its t interval per experiment, model, layer and group; notes."""
    rows, notes = [], []
    keys = ["experiment", "model", "layer_index", "layer", "observer_group"]
    for (experiment, model, _, layer, group), part in participants.groupby(keys, sort=True):
        mean, low, high, note = _t_interval(part["accuracy"])
        rows.append((experiment, model, layer, group, len(part), mean, low, high))
        if note:
            notes.append(f"{experiment} {model} {layer} {group}: {note}")
    return pd.DataFrame(rows, columns=RECOGNISABILITY_COLUMNS), notes


def _anovas(
    participants: pd.DataFrame, n_permutations: int, seed: int, progress: bool
) -> pd.DataFrame:
    """One mixed ANOVA per experiment and model, with a progress bar over permutations."""
    from psychoalign.stats.anova import mixed_anova

    models = list(participants.groupby(["experiment", "model"], sort=True))
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn())
    tables = []
    with progress_bar(*columns, TimeElapsedColumn(), show=progress) as bar:
        task = bar.add_task("permutations", total=len(models) * 2 * n_permutations or None)
        for (experiment, model), part in models:
            bar.update(task, description=f"ANOVA {model}")
            table = mixed_anova(
                part.assign(subject=part["observer_group"] + "-" + part["participant"]),
                dv="accuracy",
                within="layer",
                between="observer_group",
                subject="subject",
                n_permutations=n_permutations,
                seed=seed,
                progress=lambda done: bar.advance(task, done),
            )
            tables.append(table.assign(experiment=experiment, model=model))
    return pd.concat(tables, ignore_index=True)[ANOVA_TABLE_COLUMNS]


def _check_participants(files: list[Path], participants: pd.DataFrame) -> None:
    """Refuse a file with fewer than 2 participants: no interval, no ANOVA."""
    counts = participants.groupby(["experiment", "model"]).participant.nunique()
    for path in files:
        if counts[_names(path)] < 2:
            raise TrialDataError(
                f"{path}: variable '{_MATRIX}' holds {counts[_names(path)]} participant; "
                "intervals over participants and the mixed ANOVA need at least 2."
            )


_DESCRIPTIONS = {
    "recognisability": (
        "Proportion correct on natural images and on each layer's metamers, per model and "
        "observer group (human participants; the model on the stimuli each participant "
        "saw): mean over participants with a 95 % t interval over participants."
    ),
    "anova": (
        "Mixed ANOVA per model: observer group (human vs model) between, layer within; "
        "p from the F distribution (sphericity assumed), p_permutation from shuffled group "
        "labels (observer_group, interaction) or layer labels within participants (layer)."
    ),
}


def published_recognisability(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    n_permutations: int = 10_000,
    seed: int = 0,
    progress: bool = True,
) -> PublishedRecognisability:
    r"""Recognisability of published model metamers to humans and models, with the ANOVAs.

    Parameters
    ----------
    paths
        The published ``..._datamatrix_<model>_public.mat`` files, or folders of them
        (see :func:`read_recognisability_matrices`).
    out
        Results folder: ``recognisability.csv``, ``anova.csv`` (each with its JSON
        sidecar: inputs with their SHA-256, parameters, versions, notes) and the figure
        ``recognisability_figure`` (PNG, PDF, SVG, the CSV behind it and its sidecar).
        Everything is built in a hidden folder beside ``out`` and moved in only once
        all of it is written; files of other names in ``out`` are left alone.
    n_permutations
        Permutations per null distribution of each ANOVA.
    seed
        Seed of the permutations; every model uses it, so a model's p-values do not
        depend on the other files given.
    progress
        Show a progress bar over the permutations on stderr.

    Returns
    -------
    PublishedRecognisability
        ``participants`` (:func:`read_recognisability_matrices`), ``recognisability``
        (``experiment, model, layer, observer_group, n_participants, accuracy, ci_low,
        ci_high``, layers in the files' order), ``anova`` (``experiment, model, source,
        df1, df2, F, p, p_permutation, partial_eta_squared``; sources
        ``observer_group``, ``layer``, ``observer_group:layer``; see
        :func:`psychoalign.stats.anova.mixed_anova`), ``notes`` and the files written.

    Notes
    -----
    ``accuracy`` is the mean over the group's participants and the interval
    :math:`\bar x \pm t_{0.975,\,n-1}\, s / \sqrt{n}`. Files of fewer
    than 2 participants are refused (no interval, no ANOVA), so ``ci_low`` and
    ``ci_high`` are never NaN; a group whose participants all have the same accuracy
    has the interval :math:`[\bar x, \bar x]`, and each such group is listed under
    ``notes`` in the sidecars (e.g. ``"EXP1 alexnet final model: no variation over
    participants: the interval is the mean"``).
    """
    from psychoalign.plots.published_metamers import published_recognisability_plot

    n_permutations = whole_number("n_permutations", n_permutations, 1)
    whole_number("seed", seed, 0)
    out = check_output_folder(out)  # a file, or a folder that cannot be written: refused now
    files = _mat_files(paths)
    participants = read_recognisability_matrices(files)
    _check_participants(files, participants)
    recognisability, notes = _recognisability(participants)
    anova = _anovas(participants, n_permutations, seed, progress)
    parameters = {"n_permutations": n_permutations, "seed": seed, "confidence": CONFIDENCE}
    record = {**provenance(files, parameters, packages=("pingouin",)), "notes": notes}
    tables = {"recognisability": recognisability, "anova": anova}
    with staged_outputs(out) as staging:
        write_outputs(tables, staging, record, descriptions=_DESCRIPTIONS)
        published_recognisability_plot(recognisability, staging / _FIGURE, record=record)
    written = [out / f"{name}.csv" for name in tables] + [out / f"{_FIGURE}.png"]
    return PublishedRecognisability(out, participants, recognisability, anova, notes, written)
