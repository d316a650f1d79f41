"""Metamer workflows: write a metamer stimulus set, and analyse its recognisability.

:func:`make_metamer_set` synthesises metamers of a set's images at several layers of a
model (:mod:`psychoalign.synthesis`), validates them and writes natural images and
metamers as one stimulus set for the ``metamer_recognition`` experiment, with the
validation, loss curves and null distribution beside the manifest.
:func:`metamer_recognisability_analysis` reads the trials of humans and model observers on
such a set and writes how recognisable each model x layer's metamers are (Feather et al.
2019, 2023).

References
----------
.. [1] Feather, Durango, Gonzalez & McDermott (2019). Metamers of neural networks reveal
   divergence from human perceptual systems. NeurIPS.
.. [2] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
   invariances between biological and artificial neural networks. Nature Neuroscience,
   26, 2017-2034.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from psychoalign import plots
from psychoalign._checks import DEFAULT_N_BOOT, is_whole, whole_number
from psychoalign._io import check_output_folder, staged_outputs
from psychoalign.errors import StimulusSetError
from psychoalign.metrics.metamers import metamer_recognisability
from psychoalign.models.features import check_layers, feature_extractor
from psychoalign.models.zoo import VisionModel, resolve_model
from psychoalign.provenance import provenance, write_outputs
from psychoalign.stimuli.images import encode_png, read_image, to_uint8
from psychoalign.stimuli.metamer_sets import (
    NATURAL,
    join_metamer_set,
    layer_conditions,
    metamer_stimulus,
)
from psychoalign.stimuli.stimulus_set import SetWriter, StimulusSet
from psychoalign.synthesis.checkpoint import (
    checkpoint_file,
    checkpoint_folder,
    mark_writing,
    remove_checkpoints,
)
from psychoalign.synthesis.metamer import INITIAL_SD, Metamer, step_sizes
from psychoalign.synthesis.validation import null_distribution, validate
from psychoalign.trials import find_trial_files, read_trials
from psychoalign.workflows.evaluation import RUN_FILE

__all__ = ["make_metamer_set", "metamer_recognisability_analysis"]

#: Source images at most (a seeded sample) from which make_metamer_set draws null pairs.
NULL_IMAGES = 100
#: losses.csv keeps every step of runs up to this many steps, else every LOSSES_EVERY-th.
LOSSES_ALL_UP_TO = 1000
LOSSES_EVERY = 10


@dataclass
class _LayerResult:
    """One layer's metamers as written (8-bit pixels) and its tables."""

    shown: np.ndarray
    validation: pd.DataFrame
    losses: pd.DataFrame
    null: pd.DataFrame


def _read_same_size(paths: Sequence[Path]) -> np.ndarray:
    images = []
    for path in paths:
        image = read_image(path, dtype=np.float32)
        if images and image.shape != images[0].shape:
            height, width = image.shape[:2]
            raise StimulusSetError(
                f"{path}: is {width} x {height} px but {paths[0]} is {images[0].shape[1]} x "
                f"{images[0].shape[0]} px; the images of a metamer set must have one size."
            )
        images.append(image)
    return np.stack(images)


def _kept_steps(total: int) -> np.ndarray:
    """Steps whose loss goes to ``losses.csv``: all, or every 10th and the last of long runs."""
    if total <= LOSSES_ALL_UP_TO:
        return np.arange(total)
    return np.unique(np.r_[np.arange(0, total, LOSSES_EVERY), total - 1])


def _sampled_rows(rows: list[Any], images: int, seed: int) -> list[Any]:
    """``images`` rows drawn round-robin over the categories, in manifest order.

    The categories and the images within each are put in a seeded random order
    (``np.random.default_rng([seed, 2])``); the first image of every category is taken,
    then the second, and so on, so N images of K categories hold N // K or N // K + 1 of
    each.
    """
    rng = np.random.default_rng([seed, 2])
    by_category: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_category.setdefault(row.category, []).append(index)
    queues = [list(rng.permutation(indices)) for indices in by_category.values()]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    longest = max(map(len, queues))
    order = [queue[k] for k in range(longest) for queue in queues if k < len(queue)]
    return [rows[i] for i in sorted(order[:images])]


def _source_rows(source: StimulusSet, images: int | None, seed: int = 0) -> list[Any]:
    """The source rows metamers are made of, the source refused when it cannot serve."""
    if len(source) < 2:
        raise StimulusSetError(
            f"source: stimulus set '{source.name}' has {len(source)} image; the null "
            "distribution needs pairs of different images."
        )
    if len(source.conditions) != 1:
        raise StimulusSetError(
            f"source: stimulus set '{source.name}' has {len(source.conditions)} conditions "
            f"({', '.join(source.conditions[:4])}); select one with .subset(conditions=...) first."
        )
    rows = list(source)
    if images is not None:
        if not is_whole(images) or not 1 <= images <= len(rows):
            raise StimulusSetError(
                f"images: {images!r} must be between 1 and the {len(rows)} images of "
                f"'{source.name}'."
            )
        rows = _sampled_rows(rows, images, seed)
    if source.saved:
        source.verify(raise_errors=True)
    return rows


def _null_images(source: StimulusSet, seed: int) -> np.ndarray:
    """At most :data:`NULL_IMAGES` source images (a seeded sample), for the null pairs."""
    frame = source.frame()
    null_rows = np.arange(len(frame))
    if len(null_rows) > NULL_IMAGES:
        null_rows = np.sort(np.random.default_rng(seed).choice(null_rows, NULL_IMAGES, False))
    return _read_same_size([frame.path.iloc[i] for i in null_rows])


def _synthesise_layer(
    model: VisionModel,
    layer: str,
    rows: list[Any],
    naturals: np.ndarray,
    null_images: np.ndarray,
    settings: dict[str, Any],
) -> _LayerResult:
    """Synthesise, round to 8 bits and validate one layer's metamers; their tables."""
    metamer = Metamer(model, layer, naturals, seed=settings["seed"], device=settings["device"])
    schedule = (settings["rounds"], settings["steps_per_round"], settings["step_size"])
    checkpoint = checkpoint_file(settings["checkpoints"], layer)
    metamer.synthesize(*schedule, progress=settings["progress"], checkpoint=checkpoint)
    shown = to_uint8(metamer.metamers).astype(np.float32) / np.float32(255)
    extractor = feature_extractor(model, [layer], check=False)
    null = null_distribution(
        model,
        layer,
        null_images,
        n_pairs=settings["null_pairs"],
        seed=settings["seed"],
        extractor=extractor,
    )
    stimuli = [metamer_stimulus(layer, row.stimulus) for row in rows]
    checked = validate(
        model, layer, naturals, shown, null=null, mapping=settings["mapping"], extractor=extractor
    )
    checked.insert(0, "model", model.name)
    checked.insert(0, "category", [row.category for row in rows])
    checked.insert(0, "image", [row.image for row in rows])
    checked.insert(0, "stimulus", stimuli)
    total = settings["rounds"] * settings["steps_per_round"]
    kept = _kept_steps(total)
    curve = np.concatenate([metamer.losses[:, kept], metamer.final_loss[:, None]], axis=1)
    steps = np.r_[kept, total]
    losses = pd.DataFrame(
        {
            "stimulus": np.repeat(stimuli, len(steps)),
            "layer": layer,
            "step": np.tile(steps, len(rows)),
            "loss": curve.ravel().astype(np.float64),
        }
    )
    null_table = pd.DataFrame({"model": model.name, "layer": layer, "rho": null})
    return _LayerResult(shown, checked, losses, null_table)


def _write_set(
    out: str | os.PathLike[str],
    rows: list[Any],
    model: VisionModel,
    results: dict[str, _LayerResult],
    tables: dict[str, pd.DataFrame],
    info: dict[str, Any],
    *,
    seed: int,
    overwrite: bool,
) -> StimulusSet:
    """Natural images (copied as they are), metamers (8-bit PNG) and the CSV files."""
    validation = tables["validation.csv"]
    valid = dict(zip(validation.stimulus, validation.valid, strict=True))
    with SetWriter(out, overwrite=overwrite) as writer:
        for row in rows:
            writer.add(
                {
                    "stimulus": metamer_stimulus(NATURAL, row.stimulus),
                    "image": row.image,
                    "category": row.category,
                    "condition": NATURAL,
                    "sha256": row.sha256,
                    "model": model.name,
                    "layer": "",
                    "valid": True,
                    "seed": "",
                    "source": row.stimulus,
                },
                row.path.read_bytes(),
            )
        for layer, result in results.items():
            for row, pixels in zip(rows, result.shown, strict=True):
                stimulus = metamer_stimulus(layer, row.stimulus)
                writer.add(
                    {
                        "stimulus": stimulus,
                        "image": row.image,
                        "category": row.category,
                        "condition": layer,
                        "model": model.name,
                        "layer": layer,
                        "valid": bool(valid[stimulus]),
                        "seed": seed,
                        "source": row.stimulus,
                    },
                    encode_png(pixels),
                )
        for file, table in tables.items():
            writer.add_table(file, table)
        return writer.commit(info)


def make_metamer_set(
    source: StimulusSet,
    model: VisionModel | str,
    layers: Sequence[str],
    out: str | os.PathLike[str],
    *,
    images: int | None = None,
    rounds: int = 8,
    steps_per_round: int = 3000,
    step_size: float = 1.0,
    seed: int = 0,
    mapping: str = "imagenet-16",
    null_pairs: int = 1000,
    name: str | None = None,
    overwrite: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoints: str | os.PathLike[str] | None = None,
) -> tuple[StimulusSet, pd.DataFrame, pd.DataFrame]:
    """Synthesise metamers of a set's images at each layer and write them as a stimulus set.

    Parameters
    ----------
    source
        The natural images: a stimulus set with one condition and images of one size
        (verified first when it is a saved set).
    model
        A model name or a loaded :class:`~psychoalign.models.VisionModel`.
    layers
        Layer names; each becomes a condition.
    out
        Folder of the new set, built in a hidden folder and renamed into place; an
        existing folder is refused unless ``overwrite``.
    images
        Use N images of the source drawn round-robin across its categories in a seeded
        order, so that every category is represented as evenly as N allows (default:
        all); ``made_with.images`` in ``stimulus_set.json`` lists the source stimuli
        chosen.
    rounds, steps_per_round, step_size
        The schedule (:meth:`psychoalign.synthesis.Metamer.synthesize`).
    seed
        Seed of the starting noise (the same noise for every layer), of the null pairs
        and of the choice of ``images``.
    mapping
        Decision mapping for the validation.
    null_pairs
        Pairs of the null distribution, drawn among at most :data:`NULL_IMAGES` source
        images (a seeded sample of the whole source set when it has more).
    name
        Name of the new set (default: the folder name).
    overwrite
        Replace an existing set at ``out`` (atomically).
    device
        Where to compute (default: the model's device).
    progress
        Show progress bars.
    checkpoints
        Folder of the per-round checkpoints of synthesis (default: ``.<name>.checkpoints``
        beside ``out``, :func:`~psychoalign.synthesis.checkpoint_folder`): a rerun after a
        kill resumes each layer from its last finished round, with the same result. It is
        removed once the set is written.

    Returns
    -------
    StimulusSet
        The new set, opened from ``out``. Stimulus ``natural/<source stimulus>`` (the
        source file copied unchanged) or ``<layer>/<source stimulus>.png`` (8-bit PNG;
        :func:`~psychoalign.stimuli.metamer_sets.metamer_stimulus`); ``condition`` is
        ``natural`` or the layer; extra manifest columns ``model``, ``layer`` (empty for
        natural images), ``valid`` (True for natural images), ``seed`` (empty for natural
        images) and ``source`` (the source stimulus).
    pandas.DataFrame
        The validation of every metamer (also ``validation.csv`` in the set): ``stimulus,
        image, category, model`` and the columns of
        :func:`psychoalign.synthesis.validate`, computed on the 8-bit pixels written.
    pandas.DataFrame
        Loss curves (also ``losses.csv``): ``stimulus, layer, step, loss``, the loss
        before each step and, at step = total steps, after the last one; when there are
        more than 1000 steps, only every 10th step (and the last) is kept.

    Notes
    -----
    ``null.csv`` (``model, layer, rho``) holds each layer's null distribution. The three
    CSV files sit beside ``manifest.csv`` but are not stimuli: the manifest does not list
    them, so :meth:`StimulusSet.verify` and the set's checksum ignore them, and
    :meth:`StimulusSet.write` does not copy them; ``stimulus_set.json`` records their
    SHA-256 under ``files``.
    """
    layers = layer_conditions(layers)
    step_sizes(rounds, steps_per_round, step_size)  # refuses a bad schedule
    saved = Path(checkpoints) if checkpoints is not None else checkpoint_folder(out)
    if not overwrite:  # the set was written, the removal of its checkpoints cut short
        remove_checkpoints(saved, finished=out)
    SetWriter.check_target(out, overwrite=overwrite)  # before hours of synthesis, not after
    whole_number("null_pairs", null_pairs, 1, error=StimulusSetError)
    rows = _source_rows(source, images, seed)
    resolved = resolve_model(model, device)
    check_layers(resolved, layers, parameter="layer")
    naturals = _read_same_size([row.path for row in rows])
    null_images = _null_images(source, seed)
    settings = {
        "rounds": rounds,
        "steps_per_round": steps_per_round,
        "step_size": step_size,
        "seed": seed,
        "mapping": mapping,
        "null_pairs": null_pairs,
        "device": device,
        "progress": progress,
        "checkpoints": saved,
    }
    results = {
        layer: _synthesise_layer(resolved, layer, rows, naturals, null_images, settings)
        for layer in layers
    }
    tables = {
        f"{part}.csv": pd.concat(
            [getattr(result, part) for result in results.values()], ignore_index=True
        )
        for part in ("validation", "losses", "null")
    }
    total = rounds * steps_per_round
    info = {
        "name": name or Path(out).name,
        "source": source.identity(),
        "made_with": {
            "tool": "psychoalign.workflows.metamers.make_metamer_set",
            "model": resolved.name,
            "weights": resolved.weights,
            "weights_sha256": resolved.weights_sha256,
            "layers": layers,
            "rounds": rounds,
            "steps_per_round": steps_per_round,
            "step_size": step_size,
            "initial_noise_sd": INITIAL_SD,
            "mapping": mapping,
            "null_pairs": len(results[layers[0]].null),
            "null_images": len(null_images),
            "images": None if images is None else [row.stimulus for row in rows],
            "losses_every": LOSSES_EVERY if total > LOSSES_ALL_UP_TO else 1,
            "torch": torch.__version__,
        },
        "seed": seed,
    }
    mark_writing(saved)
    made = _write_set(out, rows, resolved, results, tables, info, seed=seed, overwrite=overwrite)
    remove_checkpoints(saved)
    return made, tables["validation.csv"], tables["losses.csv"]


def _trials_on_set(
    trials: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], stimuli: StimulusSet
) -> tuple[list[Path], list[str]]:
    """The trial files run on ``stimuli``, and the model runs on other sets left out.

    A file beside a ``run.json`` (``psychoalign evaluate``) is kept when the run's
    stimulus set has the set's checksum; other files (lab sessions) are kept as they are.
    An entry whose files are all runs on other sets is refused in one sentence.
    """
    entries = [trials] if isinstance(trials, (str, os.PathLike)) else list(trials)
    kept: list[Path] = []
    left_out: list[str] = []
    for entry in entries:
        mine, others = [], {}
        for path in find_trial_files(entry):
            run = _run_record(path.parent / RUN_FILE)
            ran_on = (run or {}).get("stimulus_set") or {}
            if run is None or ran_on.get("checksum") == stimuli.checksum:
                mine.append(path)
            else:
                others[str(path.parent)] = str(ran_on.get("name", "an unknown set"))
        if not mine:
            raise StimulusSetError(
                f"{entry}: none of its {len(others)} model runs is on the metamer set "
                f"'{stimuli.name}' (they ran on {', '.join(sorted(set(others.values())))}); "
                f"run 'psychoalign evaluate --stimuli {stimuli.path}' first."
            )
        kept += mine
        left_out += [f"{folder} (ran on '{name}')" for folder, name in others.items()]
    return kept, left_out


def _run_record(path: Path) -> dict[str, Any] | None:
    """The ``run.json`` of a model run, or None where there is none (a lab session)."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def metamer_recognisability_analysis(
    trials: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    metamer_set: StimulusSet | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    include_failed: bool = False,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
) -> pd.DataFrame:
    """How recognisable a metamer set's metamers are to humans and to model observers.

    Parameters
    ----------
    trials
        Trial files or folders: sessions of the ``metamer_recognition`` experiment and
        model observers' ``psychoalign evaluate`` output on the set (metamers of model A
        classified by model B).
    metamer_set
        The metamer stimulus set (made by ``psychoalign metamers``) the trials were run on.
    out
        Results folder.
    include_failed
        Keep trials on metamers that failed validation (left out by default, as the
        experiment leaves them out).
    n_boot, seed
        Bootstrap over human participants.

    Returns
    -------
    pandas.DataFrame
        :func:`psychoalign.metrics.metamer_recognisability` of the trials joined with the
        set's manifest (:func:`~psychoalign.stimuli.metamer_sets.join_metamer_set`: the
        metamer model of every trial), also written to
        ``out/metamer_recognisability.csv`` with a JSON sidecar (set checksum, inputs,
        versions, seed, ``left_out_runs``); the figure is
        ``out/metamer_recognisability_figure`` (PNG, PDF, SVG and the CSV behind it).
        ``attrs["left_out_runs"]`` names the model runs (folders with a ``run.json``) on
        other stimulus sets that were left out; a folder with no run on the set is refused.
    """
    check_output_folder(out)  # before any file is read
    stimuli = metamer_set if isinstance(metamer_set, StimulusSet) else StimulusSet.open(metamer_set)
    stimuli.verify(raise_errors=True)
    files, left_out = _trials_on_set(trials, stimuli)
    joined = join_metamer_set(read_trials(files), stimuli, include_failed=include_failed)
    table = metamer_recognisability(joined, n_boot=n_boot, seed=seed)
    record = {
        "stimulus_set": stimuli.identity(),
        "left_out_runs": left_out,
        **provenance(files, {"include_failed": include_failed, "n_boot": n_boot, "seed": seed}),
    }
    table.attrs["left_out_runs"] = left_out
    with staged_outputs(out) as staging:  # the table and its figure appear together
        write_outputs(
            {"metamer_recognisability": table},
            staging,
            record,
            descriptions={
                "metamer_recognisability": "Accuracy on natural images and on each model x "
                "layer's metamers per observer group (humans: mean over participants, "
                "bootstrap CI; models: Wilson CI), and relative to the natural images."
            },
        )
        plots.metamer_recognisability_plot(
            table, staging / "metamer_recognisability_figure", record=record
        )
    return table
