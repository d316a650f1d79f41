"""The units of a sweep: each a cached, atomic, content-keyed folder, run on a Dask worker.

``evaluate`` is the unit of :func:`psychoalign.workflows.evaluate` itself (one model x
set, ``<out>/<set>/<observer>/``). The other tasks write a folder in the same way: built
hidden, renamed into place, with a ``unit.json`` holding the SHA-256 of its inputs, and
skipped while that key is current:

- ``feature_importance``: ``<out>/feature_importance/<set>/<model>/<method>/maps.npz``
- ``activations``: ``<out>/activations/<set>/<model>/<layer>/activations.npz``
- ``metamers``: ``<out>/metamers/<set>/<model>/<layer>/images-<start>-<stop>/``, a
  metamer stimulus set (:func:`~psychoalign.workflows.make_metamer_set`) of those images.

(Not inside ``<out>/<set>/<observer>/``: an evaluate unit replaces that whole folder.)

The ``.npz`` files hold ``stimulus`` (names, manifest order) and one array per image
size group (``maps`` or ``activations``) when all images share a size.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from psychoalign._io import (
    bytes_sha256,
    remove_stale_temporaries,
    replaced_folder,
    write_npz_atomic,
)
from psychoalign.errors import ParameterError
from psychoalign.stimuli import StimulusSet
from psychoalign.workflows.sweep_plan import SweepUnit, open_stimuli

__all__: list[str] = []

#: The key file of a unit folder other than evaluate's.
UNIT_FILE = "unit.json"
#: Units finished by this call, or found current and left alone.
DONE, SKIPPED = "done", "skipped"
#: Images per batch on the CPU, and the most on a GPU, when a plan sets no ``batch_size``.
CPU_BATCH_SIZE, MOST_GPU_BATCH = 32, 512


@functools.cache
def _model(name: str, device: str | None) -> Any:
    """A loaded model, once per worker process (the units of one model share it)."""
    from psychoalign.models import load_model

    return load_model(name, device=device)


def _image_bytes(model: Any, device: Any) -> int:
    """GPU memory one image takes through ``model`` with its input gradient (two measured).

    The gradient makes it an upper bound for inference and the size for saliency maps.
    """
    import torch

    crop = model.preprocessing.crop
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    images = torch.zeros(2, 3, crop, crop, device=device, requires_grad=True)
    model.module(images).sum().backward()
    peak = torch.cuda.max_memory_allocated(device) - before
    model.module.zero_grad(set_to_none=True)
    return max(1, peak // 2)


def batch_size(unit: SweepUnit, model: Any) -> int:
    """Images per batch: the plan's ``batch_size``, else what fits the model's GPU.

    On a GPU, :func:`~psychoalign.workflows._clusters.device_batch_size` of the memory
    one image takes (measured), at most :data:`MOST_GPU_BATCH`; on the CPU
    :data:`CPU_BATCH_SIZE`, the single commands' default.
    """
    if "batch_size" in unit.options:
        return int(unit.options["batch_size"])
    device = next(model.module.parameters()).device
    if device.type != "cuda":
        return CPU_BATCH_SIZE
    from psychoalign.workflows._clusters import device_batch_size

    return device_batch_size(device, _image_bytes(model, device), most=MOST_GPU_BATCH)


def forget_models() -> None:
    """Drop the models loaded so far in this process (the sweep's client checks one at a time)."""
    _model.cache_clear()


def _observer(unit: SweepUnit, device: str | None = None) -> Any:
    """The model observer a unit computes with (its mapping, batch size, size handling)."""
    from psychoalign.models import ModelObserver

    options = unit.options
    model = _model(unit.model, device if device is not None else options.get("device"))
    return ModelObserver(
        model,
        options.get("mapping", "imagenet-16"),
        batch_size=batch_size(unit, model),
        size_handling=options.get("size_handling", "whole"),
    )


def _folder(unit: SweepUnit, out: Path, stimuli: StimulusSet, observer: Any) -> Path:
    """Where a unit's output goes."""
    if unit.task == "evaluate":
        return Path(out) / stimuli.name / observer.name  # as evaluate writes it
    base = Path(out) / unit.task / stimuli.name / unit.model
    if unit.task == "feature_importance":
        return base / str(unit.method)
    if unit.task == "activations":
        return base / str(unit.layer)
    start, stop = unit.chunk or (0, len(stimuli))
    return base / str(unit.layer) / f"images-{start}-{stop}"


def _key(unit: SweepUnit, observer: Any, stimuli: StimulusSet) -> str:
    """SHA-256 of everything a unit's output depends on."""
    if unit.task == "evaluate":
        from psychoalign.workflows.evaluation import unit_key

        return unit_key(observer, stimuli)
    from psychoalign import __version__

    parts = {
        "unit": unit.key,
        "weights_sha256": observer.model.weights_sha256,
        "stimulus_set": stimuli.checksum,
        "options": {k: v for k, v in sorted(unit.options.items()) if k != "device"},
        "psychoalign": __version__,
    }
    return bytes_sha256(json.dumps(parts, sort_keys=True, default=str).encode())


def _current_key(unit: SweepUnit, folder: Path) -> str | None:
    """The key recorded in a unit folder; None when there is none to read."""
    name = "run.json" if unit.task == "evaluate" else UNIT_FILE
    try:
        return json.loads((folder / name).read_text()).get("key")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def is_current(unit: SweepUnit, out: Path) -> bool:
    """Whether a unit's output exists for the same inputs (checked on the CPU, nothing run).

    The model is loaded (for its weights' SHA-256) only when the unit's folders exist.
    """
    stimuli = open_stimuli(unit.stimuli)
    parent = (
        Path(out) / stimuli.name
        if unit.task == "evaluate"
        else Path(out) / unit.task / stimuli.name / unit.model
    )
    if not parent.is_dir():
        return False
    observer = _observer(unit, device="cpu")
    return _current_key(unit, _folder(unit, out, stimuli, observer)) == _key(
        unit, observer, stimuli
    )


def _per_image(
    stimuli: StimulusSet, compute: Callable[[np.ndarray, list[str]], np.ndarray]
) -> dict[str, np.ndarray]:
    """``compute`` over the set's images (one at a time: they may differ in size)."""
    manifest = stimuli.manifest
    results = [
        compute(stimuli.load(row.stimulus)[None], [row.category])[0]
        for row in manifest.itertuples(index=False)
    ]
    shapes = {result.shape for result in results}
    arrays = {"stimulus": manifest.stimulus.to_numpy(dtype=str)}
    if len(shapes) == 1:
        return {**arrays, "values": np.stack(results)}
    return {**arrays, **{f"values_{i}": result for i, result in enumerate(results)}}


def _build(unit: SweepUnit, observer: Any, stimuli: StimulusSet, staging: Path) -> None:
    """Write a non-evaluate unit's files into its staging folder."""
    if unit.task == "feature_importance":
        from psychoalign.models import feature_importance

        def importance(images: np.ndarray, targets: list[str]) -> np.ndarray:
            return feature_importance(observer, images, targets, method=str(unit.method))

        write_npz_atomic(staging / "maps.npz", _per_image(stimuli, importance))
    elif unit.task == "activations":
        from psychoalign.models import activations, feature_extractor

        extractor = feature_extractor(observer.model, [str(unit.layer)])

        def layer(images: np.ndarray, _: list[str]) -> np.ndarray:
            return activations(observer, images, [str(unit.layer)], extractor=extractor)[
                str(unit.layer)
            ]

        write_npz_atomic(staging / "activations.npz", _per_image(stimuli, layer))
    else:
        from psychoalign.workflows.metamers import make_metamer_set

        start, stop = unit.chunk or (0, len(stimuli))
        chunk = stimuli.subset(stimuli=list(stimuli.manifest.stimulus[start:stop]))
        settings = {k: v for k, v in unit.options.items() if k != "device"}
        name = f"{stimuli.name}-{unit.model}-{unit.layer}-images-{start}-{stop}"
        make_metamer_set(
            chunk,
            observer.model,
            [str(unit.layer)],
            staging,
            name=name,
            overwrite=True,
            progress=False,
            **settings,
        )


def run_task(unit: SweepUnit, out: Path) -> str:
    """Compute one unit into ``out``, or leave it when current; ``done`` or ``skipped``."""
    stimuli = open_stimuli(unit.stimuli)
    if unit.task == "evaluate":
        from psychoalign.workflows.evaluation import evaluate

        options = {k: v for k, v in unit.options.items() if k not in ("mapping", "batch_size")}
        model = _model(unit.model, unit.options.get("device"))
        units = evaluate(
            [model],
            [stimuli],
            out,
            mapping=unit.options.get("mapping", "imagenet-16"),
            batch_size=batch_size(unit, model),
            progress=False,
            **options,
        )
        return SKIPPED if units.status.iloc[0] == "skipped" else DONE
    if unit.task not in ("feature_importance", "activations", "metamers"):
        raise ParameterError(f"task: '{unit.task}' is not a sweep task.")
    observer = _observer(unit)
    folder = _folder(unit, out, stimuli, observer)
    remove_stale_temporaries(folder)  # a killed worker's staging folder
    key = _key(unit, observer, stimuli)
    if _current_key(unit, folder) == key:
        return SKIPPED
    if stimuli.saved:
        stimuli.verify(raise_errors=True)
    with replaced_folder(folder) as staging:
        _build(unit, observer, stimuli, staging)
        record = {"key": key, "unit": unit.key, **observer.describe(stimuli)}
        (staging / UNIT_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return DONE
