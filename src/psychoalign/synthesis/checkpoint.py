r"""Checkpoints of metamer synthesis, written after every round, so a killed job resumes.

Synthesis of the full schedule takes minutes to hours per image; a job preempted on a
cluster would start over. With a checkpoint file, :meth:`psychoalign.synthesis.Metamer.
synthesize` writes after each round, atomically (a hidden temporary renamed into
place, flushed to disk), everything the remaining rounds depend on:

- the images :math:`x` after the round, float32, bit for bit;
- the loss of every step so far;
- the round and step reached and the step size :math:`\eta` of the next round;
- the state of torch's random number generators (the CPU one, and the GPU's when
  synthesis runs on one). The steps draw no random numbers (the starting noise is drawn
  up front from the seed), but a model that does draw resumes identically too;
- a key: the model, its weights' SHA-256, the layer, the SHA-256 of the natural images
  and of the starting noise, the seed, the schedule, the batch size, the device and the
  torch version, all of which the result depends on.

When synthesis starts and the file holds a checkpoint with the same key, it continues
from the round after the checkpoint's, so a killed job loses at most the round it was
in, and the result equals that of an uninterrupted run bit for bit. A checkpoint with
another key (other images, another schedule, ...) or one that cannot be read is never
resumed: a warning says why and synthesis starts over, overwriting it. Files are
``.npz`` archives of plain arrays, read without unpickling.

:func:`checkpoint_folder` is where :func:`psychoalign.workflows.make_metamer_set` keeps
them (``.<set name>.checkpoints/<layer>/<chunk>.npz`` beside the set, see
:func:`checkpoint_file`), removed once the set is written.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from psychoalign._io import bytes_sha256, read_npz, write_npz_atomic, write_text_atomic
from psychoalign.errors import StimulusSetError
from psychoalign.synthesis._inputs import _to_numpy

if TYPE_CHECKING:
    from psychoalign.synthesis.metamer import Metamer

__all__ = [
    "SynthesisCheckpoint",
    "checkpoint_file",
    "checkpoint_folder",
    "mark_writing",
    "remove_checkpoints",
]

_FORMAT = "psychoalign-metamer-checkpoint-1"
#: Written in a checkpoint folder just before the finished set is put in place: if the
#: folder is still there when the set is, only the removal of the folder was interrupted.
_WRITING = "writing-set"


def checkpoint_folder(out: str | os.PathLike[str]) -> Path:
    """The hidden folder beside a metamer set ``out`` that holds its checkpoints.

    Parameters
    ----------
    out
        The folder of the metamer set being made.

    Returns
    -------
    pathlib.Path
        ``.<name of out>.checkpoints`` in the folder of ``out``.

    Examples
    --------
    >>> checkpoint_folder("studies/lite0-metamers").as_posix()
    'studies/.lite0-metamers.checkpoints'
    """
    out = Path(out)
    return out.parent / f".{out.name}.checkpoints"


def checkpoint_file(folder: str | os.PathLike[str], layer: str, chunk: int = 0) -> Path:
    """The checkpoint file of one layer and chunk of images in a checkpoint folder.

    Parameters
    ----------
    folder
        The checkpoint folder (:func:`checkpoint_folder`).
    layer
        The layer synthesised.
    chunk
        Index of the chunk of images (0 when all images are synthesised together).

    Returns
    -------
    pathlib.Path
        ``folder/<layer>/<chunk>.npz``.

    Examples
    --------
    >>> checkpoint_file(".set.checkpoints", "_blocks.1", 2).as_posix()
    '.set.checkpoints/_blocks.1/2.npz'
    """
    return Path(folder) / layer / f"{int(chunk)}.npz"


def mark_writing(folder: str | os.PathLike[str]) -> None:
    """Mark a checkpoint folder, if there is one, as that of a set being put in place."""
    if Path(folder).is_dir():
        write_text_atomic(Path(folder) / _WRITING, "")


def remove_checkpoints(
    folder: str | os.PathLike[str], *, finished: str | os.PathLike[str] | None = None
) -> None:
    """Remove a checkpoint folder (no error when there is none).

    Parameters
    ----------
    folder
        The checkpoint folder.
    finished
        Remove it only if it was marked by :func:`mark_writing` and this set folder
        exists: the set was written, only the removal of its checkpoints was interrupted.
    """
    folder = Path(folder)
    if finished is not None and not ((folder / _WRITING).is_file() and Path(finished).is_dir()):
        return
    shutil.rmtree(folder, ignore_errors=True)


def _images_key(metamer: Metamer, sizes: np.ndarray, steps_per_round: int, batch: slice) -> dict:
    """Everything the result of synthesis depends on, as JSON values."""
    device = metamer.model.device
    return {
        "format": _FORMAT,
        "model": metamer.model_name,
        "weights_sha256": metamer.weights_sha256,
        "layer": metamer.layer,
        "images_sha256": bytes_sha256(np.ascontiguousarray(metamer.images).tobytes()),
        "images_shape": list(metamer.images.shape),
        "initial_sha256": bytes_sha256(np.ascontiguousarray(metamer.initial).tobytes()),
        "seed": metamer.seed,
        "rounds": len(sizes) // steps_per_round,
        "steps_per_round": int(steps_per_round),
        "step_size": float(sizes[0]),
        "batch_size": batch.stop - batch.start,
        "device": device.type,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch": torch.__version__,
    }


class SynthesisCheckpoint:
    """The per-round checkpoint file of one :meth:`Metamer.synthesize` call.

    Parameters
    ----------
    path
        The checkpoint file, or None for none (then :meth:`restore` and
        :meth:`after_step` do nothing).
    metamer
        The synthesis (its model, layer, images, noise and seed enter the key).
    sizes
        The step size of every step (:func:`~psychoalign.synthesis.step_sizes`).
    steps_per_round
        Steps per round: a checkpoint is written after every ``steps_per_round`` steps.
    batch
        The first batch of images per pass (its size enters the key: it changes float
        rounding).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        metamer: Metamer,
        sizes: np.ndarray,
        steps_per_round: int,
        batch: slice,
    ):
        self.path = None if path is None else Path(path)
        self.sizes = sizes
        self.steps_per_round = int(steps_per_round)
        self.device = metamer.model.device
        self.key = None if path is None else _images_key(metamer, sizes, steps_per_round, batch)

    def _ignored(self, reason: str) -> None:
        warnings.warn(
            f"{self.path}: {reason}; not resumed, synthesis starts over.", UserWarning, stacklevel=5
        )

    def _read(self) -> dict[str, np.ndarray] | None:
        """The arrays of a checkpoint of this synthesis, or None (with a warning if ignored)."""
        if self.path is None or not self.path.is_file():
            return None
        try:
            arrays = read_npz(self.path, StimulusSetError, "it is not a checkpoint file")
            key = json.loads(str(arrays["key"]))
            step = int(arrays["step"])
            shapes = (arrays["x"].shape, arrays["losses"].shape, arrays["cpu_rng"].dtype)
        except (StimulusSetError, KeyError, TypeError, ValueError):
            key = None
        if not isinstance(key, dict):
            self._ignored("is not a readable metamer checkpoint")
            return None
        if key != self.key:
            changed = sorted(k for k in {**key, **self.key} if key.get(k) != self.key.get(k))
            self._ignored(f"is a checkpoint of other inputs (differing: {', '.join(changed)})")
            return None
        n = self.key["images_shape"][0]
        if not (
            0 < step <= len(self.sizes)
            and step % self.steps_per_round == 0
            and shapes == (tuple(self.key["images_shape"]), (n, step), np.uint8)
        ):
            self._ignored("has arrays of the wrong shape for its round")
            return None
        return arrays

    def restore(self, x: torch.Tensor, losses: torch.Tensor) -> int:
        """Load a checkpoint of this synthesis, if there is one, into ``x`` and ``losses``.

        Parameters
        ----------
        x
            The images (n, 3, h, w), overwritten in place (their memory layout kept).
        losses
            The loss of every step (n, total steps); the steps done are overwritten.

        Returns
        -------
        int
            The first step still to run: 0 when nothing is resumed.
        """
        arrays = self._read()
        if arrays is None:
            return 0
        step = int(arrays["step"])
        with torch.no_grad():
            x.copy_(torch.from_numpy(arrays["x"]).permute(0, 3, 1, 2))
            losses[:, :step].copy_(torch.from_numpy(arrays["losses"]))
        torch.set_rng_state(torch.from_numpy(arrays["cpu_rng"]))
        if "cuda_rng" in arrays and self.device.type == "cuda":
            torch.cuda.set_rng_state(torch.from_numpy(arrays["cuda_rng"]), self.device)
        return step

    def after_step(self, step: int, x: torch.Tensor, losses: torch.Tensor) -> None:
        """Write the checkpoint if step ``step`` (from 0) is the last of a round.

        Parameters
        ----------
        step
            The step just taken.
        x, losses
            The images after it and the losses so far.
        """
        done = step + 1
        if self.path is None or done % self.steps_per_round:
            return
        arrays: dict[str, Any] = {
            "key": np.array(json.dumps(self.key, sort_keys=True)),
            "x": _to_numpy(x),
            "losses": losses[:, :done].cpu().numpy(),
            "step": np.int64(done),
            "round": np.int64(done // self.steps_per_round),
            "eta": np.float64(self.sizes[done] if done < len(self.sizes) else np.nan),
            "cpu_rng": torch.get_rng_state().numpy(),
        }
        if self.device.type == "cuda":
            arrays["cuda_rng"] = torch.cuda.get_rng_state(self.device).numpy()
        write_npz_atomic(self.path, arrays, fsync=True)
