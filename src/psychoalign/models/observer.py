"""Model observers: a model and a decision mapping answering trials like a participant."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from psychoalign._checks import whole_number
from psychoalign._progress import progress_bar
from psychoalign.models.mappings import DecisionMapping, get_mapping
from psychoalign.models.zoo import DEFAULT_MODEL, ModelError, VisionModel, resolve_model
from psychoalign.stimuli import StimulusSet
from psychoalign.stimuli.images import read_pixels
from psychoalign.trials import validate_trials

__all__ = ["SIZE_HANDLING", "ModelObserver", "ObserverRun"]

#: How stimuli reach the model's input size (see :meth:`ModelObserver.prepare`).
SIZE_HANDLING = ("whole", "resize-crop")
_PAD_GREY = 0.5


@dataclass
class ObserverRun:
    """What a model observer did: trial rows, the probability table, and provenance."""

    trials: pd.DataFrame
    probabilities: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


class ModelObserver:
    """A vision model answering N-way trials through a decision mapping.

    Parameters
    ----------
    model
        A :class:`~psychoalign.models.zoo.VisionModel` or a name for
        :func:`~psychoalign.models.zoo.load_model` (default: the bundled
        ``efficientnet_lite0``).
    mapping
        A :class:`~psychoalign.models.mappings.DecisionMapping` or its name
        (``imagenet-16``, ``imagenet-16-sum``, ``animal``, ``identity``, a file).
    batch_size
        Images per forward pass.
    size_handling
        ``"whole"`` (default): the whole stimulus, every pixel a participant saw, is
        resized to the model's input size (with the model's interpolation and
        antialiasing; a stimulus already at that size is passed unchanged; a non-square
        one is first padded with grey 0.5 to a square). ``"resize-crop"``: the model's
        own ImageNet pipeline (shorter side to ``resize``, centre crop), which cuts off
        the border of the stimulus.
    device
        Where to compute (default: the model's device).
    name
        Observer name in trial tables (default: the model's name, plus the mapping's when
        it is not ``imagenet-16``).
    trust_pickle
        Let a model name that is a pickled model file load (a pickle runs code when it
        is read); see :func:`~psychoalign.models.zoo.load_model`.

    Examples
    --------
    >>> from psychoalign.datasets import stimulus_set
    >>> observer = ModelObserver("efficientnet_lite0", device="cpu")
    >>> run = observer.run(stimulus_set("edge").subset(images=["oven10.png"]), progress=False)
    >>> run.trials[["observer", "observer_kind", "image", "category"]].values.tolist()
    [['efficientnet_lite0', 'model', 'oven10.png', 'oven']]
    """

    def __init__(
        self,
        model: VisionModel | str = DEFAULT_MODEL,
        mapping: DecisionMapping | str = "imagenet-16",
        *,
        batch_size: int = 32,
        size_handling: str = "whole",
        device: str | torch.device | None = None,
        name: str | None = None,
        trust_pickle: bool = False,
    ):
        if size_handling not in SIZE_HANDLING:
            raise ModelError(
                f"size_handling: '{size_handling}' is not one of {', '.join(SIZE_HANDLING)}."
            )
        whole_number("batch_size", batch_size, 1, error=ModelError)
        self.model = resolve_model(model, device, trust_pickle=trust_pickle)
        self.mapping = get_mapping(mapping, self.model.labels)
        self.batch_size = batch_size
        self.size_handling = size_handling
        self.name = name or (
            self.model.name
            if self.mapping.name == "imagenet-16"
            else f"{self.model.name}+{self.mapping.name}"
        )
        #: (outputs, categories) weights from softmax probabilities to category scores.
        self.category_weights = self.mapping.matrix(self.model.labels).to(torch.float32)

    # --- from pixels to decisions --------------------------------------------------------

    def prepare(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Stimulus pixels (n, height, width, 3) to the model's normalised input.

        ``images`` are floats in [0, 1] or 8-bit integers; the result is (n, 3, crop,
        crop) float32 on the model's device; see ``size_handling``.
        """
        array = np.asarray(images)
        if not array.flags.writeable:  # e.g. pixels read back from a window
            array = array.copy()
        eight_bit = array.dtype == np.uint8
        pixels = torch.as_tensor(array if eight_bit else array.astype(np.float32, copy=False))
        if pixels.ndim == 3:
            pixels = pixels[None]
        batch = pixels.permute(0, 3, 1, 2).to(self.model.device).float()
        return self.prepare_tensor(batch, scale=1 / 255 if eight_bit else 1.0)

    def prepare_tensor(self, batch: torch.Tensor, *, scale: float = 1.0) -> torch.Tensor:
        """:meth:`prepare` for a (n, 3, height, width) tensor (values x ``scale`` in [0, 1]).

        Differentiable, so feature-importance maps reach the stimulus pixels.
        """
        spec = self.model.preprocessing
        if scale != 1.0 and self._needs_resampling(batch):
            batch, scale = batch * scale, 1.0
        mode = spec.interpolation if spec.interpolation in ("bilinear", "bicubic") else "bilinear"
        resized = False
        if self.size_handling == "whole":
            height, width = batch.shape[-2:]
            if height != width:
                side = max(height, width)
                top, left = (side - height) // 2, (side - width) // 2
                padding = (left, side - width - left, top, side - height - top)
                batch = F.pad(batch, padding, value=_PAD_GREY)
            if batch.shape[-1] != spec.crop:
                size = (spec.crop, spec.crop)
                batch = F.interpolate(
                    batch, size=size, mode=mode, antialias=True, align_corners=False
                )
                resized = True
        else:
            height, width = batch.shape[-2:]
            scale = (spec.resize or spec.crop) / min(height, width)
            size = (max(spec.crop, round(height * scale)), max(spec.crop, round(width * scale)))
            if size != (height, width):
                batch = F.interpolate(
                    batch, size=size, mode=mode, antialias=True, align_corners=False
                )
                resized = True
            top, left = (batch.shape[-2] - spec.crop) // 2, (batch.shape[-1] - spec.crop) // 2
            batch = batch[..., top : top + spec.crop, left : left + spec.crop]
        if resized:  # interpolation can overshoot [0, 1]; stimuli shown as they are cannot
            batch = batch.clamp(0.0, 1.0)
        # (scale * x - mean) / std in one pass.
        mean = torch.tensor(spec.mean, device=batch.device).view(1, 3, 1, 1)
        std = torch.tensor(spec.std, device=batch.device).view(1, 3, 1, 1)
        return torch.addcmul(-mean / std, batch, scale / std)

    def _needs_resampling(self, batch: torch.Tensor) -> bool:
        height, width = batch.shape[-2:]
        if self.size_handling == "whole":
            return height != width or width != self.model.preprocessing.crop
        return True

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Softmax over the model's outputs and the mapped category scores for a prepared batch."""
        with torch.inference_mode():
            softmax = torch.softmax(self.model.module(inputs).float(), dim=1)
            scores = softmax @ self.category_weights.to(softmax.device)
        return softmax, scores

    def respond(self, images: np.ndarray | torch.Tensor) -> tuple[list[str], np.ndarray]:
        """Decisions and category scores (n, categories) for stimulus pixels, as shown."""
        _, scores = self.forward(self.prepare(images))
        scores = scores.cpu().numpy()
        return [self.mapping.categories[i] for i in scores.argmax(axis=1)], scores

    # --- running a stimulus set ----------------------------------------------------------

    def _batches(
        self, stimuli: StimulusSet, names: list[str]
    ) -> Iterator[tuple[list[str], np.ndarray]]:
        """Decoded 8-bit batches.

        On a GPU the next batch is read in a thread while the model runs; on the CPU the
        model already keeps every core busy, and a reader thread only slows it down.
        """

        def load(chunk: list[str]) -> tuple[list[str], np.ndarray]:
            return chunk, np.stack([read_pixels(stimuli.path / name) for name in chunk])

        chunks = [names[i : i + self.batch_size] for i in range(0, len(names), self.batch_size)]
        if self.model.device.type == "cpu":
            yield from map(load, chunks)
            return
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(load, chunks[0]) if chunks else None
            for index in range(len(chunks)):
                current = pending.result()
                if index + 1 < len(chunks):
                    pending = reader.submit(load, chunks[index + 1])
                yield current

    def run(
        self,
        stimuli: StimulusSet,
        *,
        order: Sequence[str] | pd.DataFrame | None = None,
        experiment: str | None = None,
        session: int = 1,
        verify: bool = True,
        progress: bool = True,
    ) -> ObserverRun:
        """Answer every trial of a stimulus set.

        Parameters
        ----------
        stimuli
            The stimulus set; its checksums are verified first (``verify``).
        order
            Stimuli in trial order (ids, or a trial table's ``stimulus`` column), with
            repeats if any; default: manifest order.
        experiment
            Experiment name of the trial rows (default: the set's name).
        session
            Session number of the trial rows.
        verify
            Check every file against the manifest before the first trial.
        progress
            Show a progress bar.

        Returns
        -------
        ObserverRun
            ``trials``: the trial table (``observer_kind="model"``, ``rt`` NaN, ``trial``
            the presentation order); ``probabilities``: ``observer, stimulus, category,
            probability`` (the mapped category scores of each stimulus); ``info``:
            provenance (model, weights and their SHA-256, mapping, set checksum, size
            handling, device).
        """
        if verify:
            stimuli.verify(raise_errors=True)
        manifest = stimuli.manifest.set_index("stimulus")
        if order is None:
            sequence = list(manifest.index)
        else:
            sequence = list(order["stimulus"] if isinstance(order, pd.DataFrame) else order)
            unknown = [s for s in sequence if s not in manifest.index]
            if unknown:
                raise ModelError(
                    f"order: stimulus '{unknown[0]}' is not in stimulus set '{stimuli.name}'."
                )
        outside = sorted(set(manifest.loc[sequence, "category"]) - set(self.mapping.categories))
        if outside:
            raise ModelError(
                f"stimulus set '{stimuli.name}': category '{outside[0]}' is not one the mapping "
                f"'{self.mapping.name}' can answer ({', '.join(self.mapping.categories[:4])}, ...)."
            )
        unique = list(dict.fromkeys(sequence))
        scores = np.empty((len(unique), len(self.mapping.categories)), dtype=np.float64)
        columns = (
            TextColumn(f"{self.name} on {stimuli.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        position = 0
        with progress_bar(*columns, show=progress, transient=True) as bar:
            task = bar.add_task("run", total=len(unique))
            for names, pixels in self._batches(stimuli, unique):
                _, batch_scores = self.forward(self.prepare(pixels))
                scores[position : position + len(names)] = batch_scores.cpu().numpy()
                position += len(names)
                bar.advance(task, len(names))
        decision = dict(
            zip(unique, np.asarray(self.mapping.categories)[scores.argmax(axis=1)], strict=True)
        )
        rows = manifest.loc[sequence]
        trials = pd.DataFrame(
            {
                "experiment": experiment or stimuli.name,
                "observer": self.name,
                "observer_kind": "model",
                "session": session,
                "trial": np.arange(1, len(sequence) + 1),
                "stimulus": sequence,
                "image": rows["image"].to_numpy(),
                "condition": rows["condition"].to_numpy(),
                "category": rows["category"].to_numpy(),
                "response": [decision[s] for s in sequence],
            }
        )
        trials["correct"] = trials["response"] == trials["category"]
        trials["rt"] = math.nan
        probabilities = pd.DataFrame(
            {
                "observer": self.name,
                "stimulus": np.repeat(unique, len(self.mapping.categories)),
                "category": np.tile(self.mapping.categories, len(unique)),
                "probability": scores.ravel(),
            }
        )
        return ObserverRun(validate_trials(trials), probabilities, self.describe(stimuli))

    def describe(self, stimuli: StimulusSet | None = None) -> dict[str, Any]:
        """Provenance of this observer (and of a stimulus set it ran on)."""
        record: dict[str, Any] = {
            "observer": self.name,
            "model": self.model.name,
            "model_source": self.model.source,
            "weights": self.model.weights,
            "weights_sha256": self.model.weights_sha256,
            "preprocessing": vars(self.model.preprocessing),
            "size_handling": self.size_handling,
            "mapping": self.mapping.describe(),
            "device": str(self.model.device),
            "torch": torch.__version__,
        }
        if stimuli is not None:
            record["stimulus_set"] = stimuli.identity()
        return record
