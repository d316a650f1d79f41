"""Make a stimulus set by applying one degradation at several levels to a source set."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from psychoalign._progress import progress_bar
from psychoalign.stimuli.degrade import get_manipulation, mean_amplitude_spectrum
from psychoalign.stimuli.images import StimulusSetError, encode_png, read_image
from psychoalign.stimuli.stimulus_set import SetWriter, StimulusSet, derived_stimulus

__all__ = ["make_stimulus_set", "stimulus_seed"]


def stimulus_seed(seed: int, level_index: int, image_index: int) -> int:
    """Derive the seed of one stimulus from the set's seed and its position.

    Each stimulus has its own generator, ``numpy.random.default_rng(stimulus_seed(...))``,
    so any one stimulus can be remade alone from the manifest's ``seed`` column.
    """
    sequence = np.random.SeedSequence([seed, level_index, image_index])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def _check_levels(labels: Sequence[str]) -> None:
    if not labels:
        raise StimulusSetError("levels: at least one level is needed.")
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise StimulusSetError(f"levels: '{label}' is given twice.")
        if not label or "/" in label or "\\" in label or label.startswith("."):
            raise StimulusSetError(f"levels: '{label}' cannot name a condition folder.")
        seen.add(label)


def _distinct_levels(manipulation: str, labels: Sequence[str], values: list[Any]) -> list[Any]:
    """``values``, refusing two labels that stand for the same level (``0.1`` and ``0.10``)."""
    for index, value in enumerate(values):
        for earlier in range(index):
            if values[earlier] == value:
                raise StimulusSetError(
                    f"levels: '{labels[earlier]}' and '{labels[index]}' are the same level of "
                    f"{manipulation} ({value}); give each level once in --levels."
                )
    return values


def make_stimulus_set(
    source: StimulusSet,
    manipulation: str,
    out: str | os.PathLike[str],
    *,
    levels: Sequence[str] | None = None,
    seed: int = 0,
    name: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> StimulusSet:
    """Apply a degradation at each level to every source image and write the new set.

    Parameters
    ----------
    source
        The source stimulus set (verified first when it is a saved set) with one condition.
    manipulation
        A name of :data:`psychoalign.stimuli.degrade.MANIPULATIONS`.
    out
        Folder of the new set; an existing folder is refused unless ``overwrite``.
    levels
        Level labels, which become the condition labels (default: the manipulation's
        default levels, the labels of the model-vs-human datasets).
    seed
        Seed of the set; stimulus i at level k uses ``stimulus_seed(seed, k, i)``,
        recorded in the manifest's ``seed`` column.
    name
        Name of the new set (default: the folder name).
    overwrite
        Replace an existing set at ``out`` (atomically).
    progress
        Show a progress bar.

    Returns
    -------
    StimulusSet
        The new set, opened from ``out``: stimulus ``<level>/<source stimulus>.png``,
        the source's ``image`` and ``category``, ``condition`` = level label, and
        ``seed`` and ``source`` (the source stimulus) columns.
    """
    method = get_manipulation(manipulation)
    labels = list(method.default_levels if levels is None else levels)
    _check_levels(labels)
    SetWriter.check_target(out, overwrite=overwrite)  # before any image is read
    values = _distinct_levels(method.name, labels, [method.level(label) for label in labels])
    if len(source.conditions) != 1:
        raise StimulusSetError(
            f"source: stimulus set '{source.name}' has {len(source.conditions)} conditions "
            f"({', '.join(source.conditions[:4])}); select one with .subset(conditions=...) first."
        )
    if source.saved:
        source.verify(raise_errors=True)
    rows = list(source)
    parameters: dict[str, Any] = {}
    if method.needs_one_size:
        parameters["amplitude"] = mean_amplitude_spectrum(_same_size_images(rows))
    info = {
        "name": name or Path(out).name,
        "source": source.identity(),
        "made_with": {
            "tool": "psychoalign stimuli make",
            "manipulation": method.name,
            "levels": labels,
            "parameters": {key: "mean amplitude spectrum of the source set" for key in parameters},
        },
        "seed": seed,
    }
    total = len(labels) * len(rows)
    with (
        SetWriter(out, overwrite=overwrite) as writer,
        progress_bar(show=progress, transient=True) as bar,
    ):
        task = bar.add_task(f"{method.name} x {len(labels)} levels", total=total)
        for image_index, row in enumerate(rows):
            # Each source is decoded (and its luminance computed) once for all levels.
            prepared = method.prepare(read_image(row.path))
            for level_index, (label, value) in enumerate(zip(labels, values, strict=True)):
                row_seed = stimulus_seed(seed, level_index, image_index)
                rng = np.random.default_rng(row_seed)
                degraded = method.apply(prepared, value, rng, **parameters)
                writer.add(
                    {
                        "stimulus": derived_stimulus(label, row.stimulus),
                        "image": row.image,
                        "category": row.category,
                        "condition": label,
                        "seed": row_seed,
                        "source": row.stimulus,
                    },
                    encode_png(degraded),
                )
                bar.advance(task)
        # The manifest lists the stimuli level by level: stimulus i of level k is row
        # k * n_images + i; it was added as number i * n_levels + k.
        order = [i * len(labels) + k for k in range(len(labels)) for i in range(len(rows))]
        made = writer.commit(info, order=order)
    return made


def _same_size_images(rows: list[Any]):
    """Yield the source images, refusing any whose size differs from the first."""
    expected = None
    for row in rows:
        image = read_image(row.path)
        if expected is None:
            expected = (image.shape, row.path)
        elif image.shape != expected[0]:
            height, width = image.shape[:2]
            raise StimulusSetError(
                f"{row.path}: is {width} x {height} px but {expected[1]} is "
                f"{expected[0][1]} x {expected[0][0]} px; this manipulation needs images of "
                "one size."
            )
        yield image
