r"""Model metamers: images whose activations at one layer of a model match a natural image's.

A metamer of a natural image :math:`x_{nat}` for layer :math:`l` of a model is an image
:math:`x` with :math:`f_l(x) \approx f_l(x_{nat})`, synthesised from noise by gradient
descent on the pixels (Feather et al. 2019, 2023). Humans shown metamers of late layers of
standard networks often cannot recognise them although the network classifies them as the
natural image: a test of whether the model's invariances are human ones.

:class:`Metamer` synthesises the metamers of a batch of images at one layer, with the
schedule of Feather et al. (normalised-gradient steps, step size halved every round);
:func:`synthesize_layers` does so for several layers. :mod:`psychoalign.synthesis.validation`
checks them, and :func:`psychoalign.workflows.make_metamer_set` writes a stimulus set of
natural images and their metamers for an experiment.

References
----------
.. [1] Feather, Durango, Gonzalez & McDermott (2019). Metamers of neural networks reveal
   divergence from human perceptual systems. NeurIPS.
.. [2] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
   invariances between biological and artificial neural networks. Nature Neuroscience,
   26, 2017-2034.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from psychoalign._checks import positive_number, whole_number
from psychoalign._io import write_npz_atomic
from psychoalign._progress import progress_bar
from psychoalign.errors import ModelError, StimulusSetError
from psychoalign.models.features import check_layers, feature_extractor
from psychoalign.models.folding import fold_batch_norms
from psychoalign.models.zoo import VisionModel, load_model, resolve_model
from psychoalign.stimuli.metamer_sets import distinct_layers
from psychoalign.synthesis._inputs import (
    _check_images,
    _check_metamer_arrays,
    _presenter,
    _read_metamer_arrays,
    _to_numpy,
    _to_tensor,
)
from psychoalign.synthesis.checkpoint import SynthesisCheckpoint

__all__ = ["Metamer", "initial_noise", "step_sizes", "synthesize_layers"]

#: Standard deviation of the Gaussian noise around grey 0.5 that synthesis starts from.
INITIAL_SD = 1 / 20
#: Images per forward/backward pass on the CPU, where a convolution costs the same per
#: image in any batch and one image's activations stay in the cache (and below glibc's
#: mmap threshold), so larger batches only run slower; on a GPU all images go at once.
CPU_BATCH_SIZE = 1
_FORMAT = "psychoalign-metamer-1"

#: The loss of a batch of pixels (n, 3, h, w) given the slice of the images they are.
LossFunction = Callable[[torch.Tensor, slice], torch.Tensor]


def _check_schedule(rounds: int, steps_per_round: int, step_size: float) -> None:
    whole_number("rounds", rounds, 1, error=StimulusSetError)
    whole_number("steps_per_round", steps_per_round, 1, error=StimulusSetError)
    positive_number("step_size", step_size, error=StimulusSetError)


def initial_noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    r"""The starting images of synthesis: grey plus Gaussian noise, clipped to [0, 1].

    Parameters
    ----------
    shape
        ``(n, height, width, 3)``.
    seed
        Seed; image ``i`` draws its noise from ``numpy.random.default_rng([seed, i])``, so
        it does not depend on the other images of the batch.

    Returns
    -------
    numpy.ndarray
        float32 images of ``shape``.

    Notes
    -----
    .. math:: x_0 = \mathrm{clip}\left(0.5 + \frac{z}{20}, 0, 1\right), \quad
              z \sim \mathcal{N}(0, 1)

    per pixel and channel (Feather et al. 2023); clipping touches values 10 standard
    deviations out, i.e. never in practice.

    Examples
    --------
    >>> noise = initial_noise((2, 4, 4, 3), seed=0)
    >>> noise.dtype, bool(0 < noise.min() < 0.5 < noise.max() < 1)
    (dtype('float32'), True)
    """
    whole_number("seed", seed, 0, error=StimulusSetError)
    n, *rest = shape
    noise = np.empty(shape, dtype=np.float32)
    for index in range(n):
        rng = np.random.default_rng([seed, index])
        noise[index] = rng.standard_normal(rest, dtype=np.float32)
    return np.clip(np.float32(0.5) + noise * np.float32(INITIAL_SD), 0.0, 1.0)


def step_sizes(rounds: int, steps_per_round: int, step_size: float) -> np.ndarray:
    r"""The step size of every step of synthesis, halved after each round.

    Parameters
    ----------
    rounds
        Rounds :math:`R`; the step size halves after each.
    steps_per_round
        Steps per round :math:`s`.
    step_size
        Initial step size :math:`\eta_0`.

    Returns
    -------
    numpy.ndarray
        ``(rounds * steps_per_round,)`` float64.

    Notes
    -----
    .. math:: \eta_t = \eta_0 \, 2^{-\lfloor t / s \rfloor}, \quad t = 0, \dots, R s - 1

    Examples
    --------
    >>> step_sizes(3, 2, 0.5).tolist()
    [0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    """
    _check_schedule(rounds, steps_per_round, step_size)
    index = np.arange(rounds * steps_per_round) // steps_per_round
    return step_size * np.exp2(-index.astype(np.float64))


@contextlib.contextmanager
def _frozen(module: torch.nn.Module) -> Iterator[None]:
    """Turn off gradients of the parameters (none are computed) and restore them after."""
    flags = [(parameter, parameter.requires_grad) for parameter in module.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


def _progress_bar(model: str, layer: str, show: bool) -> Progress:
    columns = (
        TextColumn(f"metamers {model} {layer}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("loss {task.fields[loss]}"),
    )
    return progress_bar(*columns, show=show, transient=True)


def _descend(x: torch.Tensor, batch: slice, eta: float, loss_of: LossFunction) -> torch.Tensor:
    """One normalised-gradient step of the images ``batch`` of ``x`` (in place).

    Returns the loss of each image before the step.
    """
    pixels = x[batch].clone().requires_grad_(True)
    loss = loss_of(pixels, batch)
    (gradient,) = torch.autograd.grad(loss.sum(), pixels)
    with torch.no_grad():
        length = torch.linalg.vector_norm(gradient, dim=(1, 2, 3), keepdim=True)
        tiny = torch.finfo(torch.float32).tiny  # a zero gradient leaves the image as it is
        x[batch] = torch.addcdiv(pixels, gradient, length.clamp_min(tiny), value=-eta).clamp_(
            0.0, 1.0
        )
    return loss.detach()


class Metamer:
    r"""Metamers of a batch of natural images at one layer of a model.

    The interface follows plenoptic's ``Metamer``: build, :meth:`synthesize`, read
    :attr:`metamers` and :attr:`losses`, :meth:`save` and :meth:`load`.

    Parameters
    ----------
    model
        A model name for :func:`~psychoalign.models.load_model` or a loaded
        :class:`~psychoalign.models.VisionModel`.
    layer
        The layer whose activations are matched (:func:`~psychoalign.models.layer_names`).
    images
        Natural images, floats (n, height, width, 3) in [0, 1]. They reach the model as
        a :class:`~psychoalign.models.ModelObserver` presents stimuli (``size_handling=
        "whole"``), through a differentiable version of the model's preprocessing.
    seed
        Seed of the starting noise (:func:`initial_noise`); on the CPU the same seed
        gives bit-identical metamers.
    device
        Where to compute (default: the model's device; a name loads on the GPU when there
        is one).
    batch_size
        Images per forward/backward pass (default: all of them on a GPU, one on the CPU,
        :data:`CPU_BATCH_SIZE`). Images never interact, so it changes speed, not the
        result (beyond float rounding).

    Attributes
    ----------
    images, initial, metamers : numpy.ndarray
        Natural images, starting noise :math:`x_0` and synthesised metamers, float32
        (n, height, width, 3); :attr:`metamers` is None before :meth:`synthesize`.
    losses : numpy.ndarray
        (n, total steps): the loss of each image before each step.
    final_loss : numpy.ndarray
        (n,): the loss of each metamer after the last step.
    step_sizes : numpy.ndarray
        (total steps,): the step size :math:`\eta_t` of each step.

    Notes
    -----
    For image :math:`i` with natural image :math:`x^{(i)}_{nat}` the loss is the
    normalised distance of the layer's activations

    .. math:: L_i(x) = \frac{\lVert f_l(x) - f_l(x^{(i)}_{nat}) \rVert_2}
                             {\lVert f_l(x^{(i)}_{nat}) \rVert_2}

    and each step moves each image by :math:`\eta_t` along its normalised gradient,
    then clips it to the displayable range,

    .. math:: x \leftarrow \mathrm{clip}\left(x - \eta_t
              \frac{\nabla_x L_i}{\lVert \nabla_x L_i \rVert_2}, 0, 1\right), \qquad
              \eta_t = \eta_0 \, 2^{-\lfloor t / s \rfloor}

    for :math:`R` rounds of :math:`s` steps (Feather et al. 2023: :math:`\eta_0 = 1`,
    :math:`R = 8`, :math:`s = 3000`). Pixels in [0, 1] are the variables, so
    :math:`\eta` is an L2 distance in pixel space (:math:`\eta_0 = 1` moves a 224 x 224
    image by 0.0026 per pixel and channel, root mean square).

    Speed: the target activations are computed once; the network runs only up to the
    layer (``torchvision``'s ``create_feature_extractor``), with its eval-mode batch norms
    folded into the convolutions before them (:func:`~psychoalign.models.folding.
    fold_batch_norms`, checked to match the unfolded network) and no gradient for its
    weights; pixels stay in channels-last memory. On a GPU the images go through the
    network together; on the CPU one at a time, which is as fast per image as any batch
    and faster than large ones.

    References
    ----------
    .. [1] Feather, Durango, Gonzalez & McDermott (2019). Metamers of neural networks
       reveal divergence from human perceptual systems. NeurIPS.
    .. [2] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
       invariances between biological and artificial neural networks. Nature
       Neuroscience, 26, 2017-2034.

    Examples
    --------
    >>> from psychoalign.datasets import stimulus_set
    >>> edge = stimulus_set("edge")
    >>> images = np.stack([edge.load("clock/clock2.png"), edge.load("chair/chair3.png")])
    >>> metamer = Metamer("efficientnet_lite0", "_blocks.1", images, device="cpu")
    >>> metamer.synthesize(rounds=2, steps_per_round=2, progress=False).metamers.shape
    (2, 224, 224, 3)
    >>> metamer.losses.shape, bool((metamer.final_loss < metamer.losses[:, 0]).all())
    ((2, 4), True)

    The schedule of Feather et al. (2023), 24,000 steps, takes 3 to 5 minutes per image at
    this layer on two CPU cores (more at deeper layers):

    >>> metamer.synthesize()  # doctest: +SKIP
    """

    def __init__(
        self,
        model: VisionModel | str,
        layer: str,
        images: np.ndarray,
        *,
        seed: int = 0,
        device: str | torch.device | None = None,
        batch_size: int | None = None,
    ):
        if batch_size is not None:
            whole_number("batch_size", batch_size, 1, error=StimulusSetError)
        self._model: VisionModel | None = resolve_model(model, device)
        self.layer = check_layers(self._model, [layer], parameter="layer")[0]
        self.images = _check_images(images)
        self.initial = initial_noise(self.images.shape, seed)
        self.seed = int(seed)
        self.batch_size = batch_size
        self.model_name = self._model.name
        self.weights_sha256 = self._model.weights_sha256
        self.metamers: np.ndarray | None = None
        self.losses = np.empty((len(self.images), 0), dtype=np.float32)
        self.final_loss: np.ndarray | None = None
        self.step_sizes = np.empty(0, dtype=np.float64)
        self.settings: dict[str, Any] = {}
        self._device = None if device is None else torch.device(device)
        self._extractor: torch.nn.Module | None = None
        self._target: torch.Tensor | None = None

    def __repr__(self) -> str:
        state = (
            "not synthesised"
            if self.metamers is None
            else f"{self.losses.shape[1]} steps, mean final loss {self.final_loss.mean():.4f}"
        )
        return (
            f"Metamer({self.model_name}, layer '{self.layer}', {len(self.images)} images, "
            f"seed {self.seed}, {state})"
        )

    @property
    def model(self) -> VisionModel:
        """The model (loaded by name on first use after :meth:`load`)."""
        if self._model is None:
            model = load_model(self.model_name, device=self._device)
            self._check_weights(model)
            self._model = model
        return self._model

    def _check_weights(self, model: VisionModel) -> None:
        if model.weights_sha256 != self.weights_sha256:
            raise ModelError(
                f"model: {model.name} has weights SHA-256 {model.weights_sha256[:12]}... but "
                f"these metamers were made with {self.weights_sha256[:12]}...; give the model "
                "they were made with."
            )

    def _features(self) -> torch.nn.Module:
        """The network up to the layer, batch norms folded into convolutions when exact."""
        if self._extractor is None:
            plain = feature_extractor(self.model, [self.layer], check=False)
            self._extractor = fold_batch_norms(
                plain,
                self.layer,
                _to_tensor(self.images[:1], self.model.device),
                _presenter(self.model),
            )
        return self._extractor

    def _batches(self, n: int, device: torch.device) -> list[slice]:
        size = self.batch_size or (CPU_BATCH_SIZE if device.type == "cpu" else n)
        return [slice(start, min(start + size, n)) for start in range(0, n, size)]

    def _loss_function(self, extractor: torch.nn.Module, batches: list[slice]) -> LossFunction:
        """The normalised loss of each image against its natural image's activations."""
        model, layer = self.model, self.layer
        observer = _presenter(model)

        def layer_output(pixels: torch.Tensor) -> torch.Tensor:
            output = extractor(observer.prepare_tensor(pixels))[layer]
            if not isinstance(output, torch.Tensor):
                raise ModelError(
                    f"layer: '{layer}' of {model.name} gives a {type(output).__name__}, not a "
                    "tensor; choose a layer whose output is one tensor."
                )
            return output.float()

        if self._target is None or self._target.device != model.device:
            natural = _to_tensor(self.images, model.device)
            with torch.no_grad():
                self._target = torch.cat([layer_output(natural[b]) for b in batches])
        target = self._target
        dims = tuple(range(1, target.ndim))
        norms = torch.linalg.vector_norm(target, dim=dims)
        if not (norms > 0).all():
            index = int(torch.nonzero(norms <= 0)[0, 0])
            raise ModelError(
                f"images: image {index} has all-zero activations at layer '{layer}' of "
                f"{model.name}, so the normalised loss is undefined; choose another layer."
            )

        def loss_of(pixels: torch.Tensor, batch: slice) -> torch.Tensor:
            distance = torch.linalg.vector_norm(layer_output(pixels) - target[batch], dim=dims)
            return distance / norms[batch]

        return loss_of

    def synthesize(
        self,
        rounds: int = 8,
        steps_per_round: int = 3000,
        step_size: float = 1.0,
        *,
        progress: bool = True,
        checkpoint: str | os.PathLike[str] | None = None,
    ) -> Metamer:
        r"""Run the whole schedule from :math:`x_0` (calling again starts over).

        Parameters
        ----------
        rounds
            Rounds :math:`R`; the step size halves after each.
        steps_per_round
            Steps per round :math:`s`.
        step_size
            Initial step size :math:`\eta_0` (the L2 norm of a step over all pixels and
            channels in [0, 1]).
        progress
            Show a progress bar.
        checkpoint
            A file to write after every round and to resume from when it holds a checkpoint
            of the same inputs (:mod:`psychoalign.synthesis.checkpoint`).

        Returns
        -------
        Metamer
            Itself, with :attr:`metamers`, :attr:`losses`, :attr:`final_loss` and
            :attr:`step_sizes` set.
        """
        sizes = step_sizes(rounds, steps_per_round, step_size)
        device = self.model.device
        extractor = self._features()
        n = len(self.images)
        batches = self._batches(n, device)
        x = _to_tensor(self.initial, device).clone()
        losses = torch.empty((n, len(sizes)), dtype=torch.float32, device=device)
        final = torch.empty(n, dtype=torch.float32, device=device)
        saver = SynthesisCheckpoint(checkpoint, self, sizes, steps_per_round, batches[0])
        start = saver.restore(x, losses)
        with _frozen(extractor), _progress_bar(self.model.name, self.layer, progress) as bar:
            loss_of = self._loss_function(extractor, batches)
            task = bar.add_task("synthesis", total=len(sizes), loss="-", completed=start)
            for step, eta in enumerate(sizes.tolist()[start:], start):
                for batch in batches:
                    losses[batch, step] = _descend(x, batch, eta, loss_of)
                saver.after_step(step, x, losses)
                if progress and (step % 100 == 0 or step == len(sizes) - 1):
                    bar.update(task, advance=1, loss=f"{losses[:, step].mean().item():.4f}")
                else:
                    bar.advance(task)
            with torch.no_grad():
                for batch in batches:
                    final[batch] = loss_of(x[batch], batch)
        self.metamers = _to_numpy(x)
        self.losses = losses.cpu().numpy()
        self.final_loss = final.cpu().numpy()
        self.step_sizes = sizes
        self.settings = {
            "rounds": int(rounds),
            "steps_per_round": int(steps_per_round),
            "step_size": float(step_size),
            "batch_size": batches[0].stop - batches[0].start,
            "device": str(device),
            "torch": torch.__version__,
        }
        return self

    # --- saving ------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write everything to one ``.npz`` file, atomically (temporary file, then rename).

        Parameters
        ----------
        path
            The file to write (its name is used as given; ``.npz`` is the convention).

        Returns
        -------
        pathlib.Path
            The file written.
        """
        info = {
            "format": _FORMAT,
            "model": self.model_name,
            "weights_sha256": self.weights_sha256,
            "layer": self.layer,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "settings": self.settings,
        }
        arrays = {
            "images": self.images,
            "initial": self.initial,
            "losses": self.losses,
            "step_sizes": self.step_sizes,
            "info": np.array(json.dumps(info)),
        }
        if self.metamers is not None:
            arrays["metamers"] = self.metamers
            arrays["final_loss"] = self.final_loss
        return write_npz_atomic(path, arrays)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        model: VisionModel | str | None = None,
        device: str | torch.device | None = None,
    ) -> Metamer:
        """Read metamers written by :meth:`save`.

        Parameters
        ----------
        path
            The file.
        model
            The model they were made with (default: loaded by its saved name when first
            needed); its weights must have the saved SHA-256.
        device
            Where to compute if synthesis is run again.

        Returns
        -------
        Metamer
            Images, noise, metamers, losses, step sizes and settings exactly as saved.
        """
        path = Path(path)
        arrays = _read_metamer_arrays(path)
        try:
            info = json.loads(str(arrays.pop("info")))
        except (KeyError, ValueError):
            info = None
        if not isinstance(info, dict) or info.get("format") != _FORMAT:
            raise StimulusSetError(f"{path}: is not a metamer file written by Metamer.save.")
        _check_metamer_arrays(path, arrays)
        metamer = cls.__new__(cls)
        metamer._model = None
        metamer._device = None if device is None else torch.device(device)
        metamer._extractor = None
        metamer._target = None
        metamer.model_name = info["model"]
        metamer.weights_sha256 = info["weights_sha256"]
        metamer.layer = info["layer"]
        metamer.seed = int(info["seed"])
        metamer.batch_size = info["batch_size"]
        metamer.settings = info["settings"]
        metamer.images = arrays["images"]
        metamer.initial = arrays["initial"]
        metamer.losses = arrays["losses"]
        metamer.step_sizes = arrays["step_sizes"]
        metamer.metamers = arrays.get("metamers")
        metamer.final_loss = arrays.get("final_loss")
        if model is not None:
            resolved = resolve_model(model, device)
            metamer._check_weights(resolved)
            metamer._model = resolved
        return metamer


def synthesize_layers(
    model: VisionModel | str,
    layers: Sequence[str],
    images: np.ndarray,
    *,
    rounds: int = 8,
    steps_per_round: int = 3000,
    step_size: float = 1.0,
    seed: int = 0,
    device: str | torch.device | None = None,
    batch_size: int | None = None,
    progress: bool = True,
) -> dict[str, Metamer]:
    """Metamers of the same images at several layers of one model (loaded once).

    Parameters
    ----------
    model
        A model name or a loaded :class:`~psychoalign.models.VisionModel`.
    layers
        Layer names; every one is checked before any synthesis starts.
    images
        Natural images, floats (n, height, width, 3) in [0, 1].
    rounds, steps_per_round, step_size
        The schedule (:meth:`Metamer.synthesize`).
    seed
        Seed of the starting noise, the same for every layer (so metamers of one image
        at different layers start from the same noise).
    device, batch_size
        As for :class:`Metamer`.
    progress
        Show a progress bar per layer.

    Returns
    -------
    dict of str to Metamer
        The synthesised metamers of each layer, in the order given.
    """
    layers = distinct_layers(layers, error=ModelError)
    _check_schedule(rounds, steps_per_round, step_size)
    resolved = resolve_model(model, device)
    runs = {
        layer: Metamer(resolved, layer, images, seed=seed, device=device, batch_size=batch_size)
        for layer in layers
    }
    for run in runs.values():
        run.synthesize(rounds, steps_per_round, step_size, progress=progress)
    return runs
