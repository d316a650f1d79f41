r"""Model metamers: images whose activations at one layer of a model match a natural image's.

A metamer of a natural image :math:`x_{nat}` for layer :math:`l` of a model is an image
:math:`x` with :math:`f_l(x) \approx f_l(x_{nat})`, synthesised from noise by gradient
descent on the pixels (Feather et al. 2019, 2023). Humans shown metamers of late layers of
standard networks often cannot recognise them although the network classifies them as the
natural image: a test of whether the model's invariances are human ones.

- :class:`Metamer` synthesises the metamers of a batch of images at one layer, with the
  schedule of Feather et al. (normalised-gradient steps, step size halved every round);
  :func:`synthesize_layers` does so for several layers.
- :func:`null_distribution` and :func:`validate` check them: the model must make the
  same 16-way decision on the metamer as on the natural image, and the Spearman
  correlation of their activations must exceed every one of a null distribution from
  pairs of different natural images.
- :func:`make_metamer_set` writes a stimulus set of natural images and their metamers
  for an experiment, with the validation, loss curves and null distribution beside the
  manifest.

This module needs torch (``pip install 'psychoalign[models]'``) and is not imported by
``psychoalign.stimuli``: ``from psychoalign.stimuli.metamers import Metamer``.

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
import copy
import difflib
import functools
import io
import itertools
import json
import math
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scipy.stats import rankdata
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_conv_bn_weights
from torchvision.models.feature_extraction import create_feature_extractor

from psychoalign.models.features import layer_names
from psychoalign.models.observer import ModelObserver
from psychoalign.models.zoo import ModelError, VisionModel, load_model
from psychoalign.stimuli.images import StimulusSetError, encode_png, read_image, to_uint8
from psychoalign.stimuli.stimulus_set import SetWriter, StimulusSet

__all__ = [
    "NATURAL",
    "Metamer",
    "initial_noise",
    "make_metamer_set",
    "null_distribution",
    "step_sizes",
    "synthesize_layers",
    "validate",
]

#: Condition label of the natural images in a metamer stimulus set.
NATURAL = "natural"
#: Standard deviation of the Gaussian noise around grey 0.5 that synthesis starts from.
INITIAL_SD = 1 / 20
#: Images per forward/backward pass on the CPU, where a convolution costs the same per
#: image in any batch and one image's activations stay in the cache (and below glibc's
#: mmap threshold), so larger batches only run slower; on a GPU all images go at once.
CPU_BATCH_SIZE = 1
#: Source images at most (a seeded sample) from which make_metamer_set draws null pairs.
NULL_IMAGES = 100
#: losses.csv keeps every step of runs up to this many steps, else every LOSSES_EVERY-th.
LOSSES_ALL_UP_TO = 1000
LOSSES_EVERY = 10
_FORMAT = "psychoalign-metamer-1"
_EVALUATION_BATCH = 32


# --- checks ------------------------------------------------------------------------------------


def _resolve_model(model: VisionModel | str, device: str | torch.device | None) -> VisionModel:
    if isinstance(model, str):
        return load_model(model, device=device)
    if not isinstance(model, VisionModel):
        raise ModelError(
            f"model: got a {type(model).__name__}; give a model name or a VisionModel "
            "(psychoalign.models.load_model, or from_module for a torch module)."
        )
    if device is not None:
        model.to(device)
    return model


def _presenter(model: VisionModel) -> ModelObserver:
    """An observer used only for its pixel pipeline (any output labels, no decisions)."""
    return ModelObserver(model, "identity", size_handling="whole")


def _check_layer(model: VisionModel, layer: str, valid: Sequence[str] | None = None) -> str:
    """Refuse a name that is not a layer of the model (``valid``: its layer names, if known)."""
    valid = layer_names(model) if valid is None else valid
    if layer not in valid:
        close = difflib.get_close_matches(str(layer), valid, n=5, cutoff=0.5)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"valid names start with {', '.join(valid[:5])}"
        )
        raise ModelError(
            f"layer: '{layer}' is not a layer of {model.name}; {hint} "
            f"(`psychoalign models layers {model.name}` lists all {len(valid)})."
        )
    return layer


def _check_images(images: Any, parameter: str = "images") -> np.ndarray:
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 3 or 0 in array.shape:
        raise StimulusSetError(
            f"{parameter}: expected an array (n, height, width, 3) of RGB images, got shape "
            f"{array.shape}."
        )
    if array.dtype.kind != "f":
        raise StimulusSetError(
            f"{parameter}: expected floats in [0, 1], got dtype {array.dtype} (divide 8-bit "
            "pixels by 255)."
        )
    low, high = float(array.min()), float(array.max())
    if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 1.0):
        raise StimulusSetError(
            f"{parameter}: values must lie in [0, 1], found {low:.3g} to {high:.3g}."
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def _check_schedule(rounds: int, steps_per_round: int, step_size: float) -> None:
    for name, value in (("rounds", rounds), ("steps_per_round", steps_per_round)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise StimulusSetError(f"{name}: {value!r} must be a whole number of at least 1.")
    if not (isinstance(step_size, (int, float)) and math.isfinite(step_size) and step_size > 0):
        raise StimulusSetError(f"step_size: {step_size!r} must be a positive number.")


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
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise StimulusSetError(f"seed: {seed!r} must be a whole number of at least 0.")
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


def _attribute(module: torch.nn.Module, target: str) -> torch.Tensor:
    return functools.reduce(getattr, target.split("."), module)


def _fold_sequential(module: torch.nn.Module) -> torch.nn.Module | None:
    """A shallow copy of a plain ``nn.Sequential`` with each Conv2d-BatchNorm2d pair fused."""
    if not (
        isinstance(module, torch.nn.Sequential)
        and type(module).forward is torch.nn.Sequential.forward
    ):
        return None
    children = list(module._modules.items())
    modules = dict(children)
    for (first_name, first), (second_name, second) in itertools.pairwise(children):
        if (
            type(first) is torch.nn.Conv2d
            and isinstance(second, torch.nn.BatchNorm2d)
            and not second.training
            and second.running_mean is not None
            and second.running_var is not None
        ):
            modules[first_name] = fuse_conv_bn_eval(first, second)
            modules[second_name] = torch.nn.Identity()
    if all(modules[name] is child for name, child in children):
        return None
    sequence = copy.copy(module)
    sequence._modules = modules
    return sequence


def _fold_batch_norms(
    extractor: torch.fx.GraphModule,
    layer: str,
    probe: torch.Tensor,
    observer: ModelObserver,
) -> torch.nn.Module:
    """The extractor with each eval-mode BatchNorm2d folded into the convolution it follows.

    Batch norm in eval mode is a fixed affine map per channel, so it folds into the
    convolution's weights and bias: one pass less over the activations forward and
    backward (about a fifth of a step of a MobileNet-like network on the CPU). Only a
    convolution (module or ``conv2d`` call) whose one user is the batch norm is folded.
    The model is not changed (the folded weights are new buffers of a new graph module);
    if anything is unexpected, or the folded network's output on ``probe`` differs from
    the original's by more than float rounding, the original extractor is returned.
    """
    try:
        folded = torch.fx.GraphModule(extractor, copy.deepcopy(extractor.graph))
        graph = folded.graph
        count = 0
        for node in list(graph.nodes):
            if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
                continue
            sequence = _fold_sequential(folded.get_submodule(node.target))
            if sequence is not None:  # a leaf of the trace, e.g. torchvision's Conv2dNormActivation
                name = f"_folded_sequence_{count}"
                folded.add_submodule(name, sequence)
                node.target = name
                count += 1
                continue
            norm = folded.get_submodule(node.target)
            if (
                not isinstance(norm, torch.nn.BatchNorm2d)
                or norm.training
                or norm.running_mean is None
                or norm.running_var is None
            ):
                continue
            conv = node.args[0]
            if not isinstance(conv, torch.fx.Node) or len(conv.users) != 1:
                continue
            if (
                conv.op == "call_module"
                and type(folded.get_submodule(conv.target)) is torch.nn.Conv2d
            ):
                fused = fuse_conv_bn_eval(folded.get_submodule(conv.target), norm)
                name = f"_folded_conv_{count}"
                folded.add_submodule(name, fused)
                conv.target = name
            elif conv.op == "call_function" and conv.target in (F.conv2d, torch.conv2d):
                args = list(conv.args)
                if (
                    len(args) < 2
                    or not isinstance(args[1], torch.fx.Node)
                    or args[1].op != "get_attr"
                ):
                    continue
                bias = args[2] if len(args) > 2 else conv.kwargs.get("bias")
                if bias is not None and (
                    not isinstance(bias, torch.fx.Node) or bias.op != "get_attr"
                ):
                    continue
                weight, bias_value = fuse_conv_bn_weights(
                    _attribute(folded, args[1].target),
                    None if bias is None else _attribute(folded, bias.target),
                    norm.running_mean,
                    norm.running_var,
                    norm.eps,
                    norm.weight,
                    norm.bias,
                )
                folded.register_buffer(f"_folded_weight_{count}", weight.detach())
                folded.register_buffer(f"_folded_bias_{count}", bias_value.detach())
                with graph.inserting_before(conv):
                    args[1] = graph.get_attr(f"_folded_weight_{count}")
                    bias_node = graph.get_attr(f"_folded_bias_{count}")
                if len(args) > 2:
                    args[2] = bias_node
                    conv.args = tuple(args)
                else:
                    conv.args = tuple(args)
                    conv.kwargs = {**conv.kwargs, "bias": bias_node}
            else:
                continue
            node.replace_all_uses_with(conv)
            graph.erase_node(node)
            count += 1
        if count == 0:
            return extractor
        graph.eliminate_dead_code()
        folded.delete_all_unused_submodules()
        folded.recompile()
        with torch.no_grad():
            inputs = observer.prepare_tensor(probe)
            expected = extractor(inputs)[layer].float()
            got = folded(inputs)[layer].float()
        error = torch.linalg.vector_norm(got - expected)
        if not error <= 1e-4 * torch.linalg.vector_norm(expected) + 1e-6:
            return extractor
        return folded.eval()
    except Exception:  # any graph this pass does not understand: run it unfolded
        return extractor


def _extractor(model: VisionModel, layer: str) -> torch.fx.GraphModule:
    """The network up to a checked layer, returning ``{layer: activation}``.

    :func:`psychoalign.models.features.feature_extractor` without its second check of the
    name (each check traces the whole model).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return create_feature_extractor(model.module, return_nodes=[layer]).eval()


def _layer_activations(
    observer: ModelObserver, extractor: torch.nn.Module, layer: str, images: np.ndarray
) -> np.ndarray:
    """Activations (n, ...) of stimulus pixels, presented as ``observer`` presents them."""
    parts = []
    with torch.inference_mode():
        for start in range(0, len(images), _EVALUATION_BATCH):
            inputs = observer.prepare(images[start : start + _EVALUATION_BATCH])
            parts.append(extractor(inputs)[layer].float().cpu().numpy())
    return np.concatenate(parts)


def _to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(n, h, w, 3) pixels to an (n, 3, h, w) tensor in channels-last memory (no copy on CPU)."""
    return (
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        .permute(0, 3, 1, 2)
        .to(device)
    )


def _to_numpy(batch: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(batch.detach().permute(0, 2, 3, 1).cpu().numpy())


# --- synthesis -----------------------------------------------------------------------------------


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
    folded into the convolutions before them (checked to match the unfolded network) and
    no gradient for its weights; pixels stay in channels-last memory. On a GPU the images
    go through the network together; on the CPU one at a time, which is as fast per image
    as any batch and faster than large ones.

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
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
            raise StimulusSetError(f"batch_size: {batch_size!r} must be at least 1.")
        self._model: VisionModel | None = _resolve_model(model, device)
        self.layer = _check_layer(self._model, layer)
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
            plain = _extractor(self.model, self.layer)
            self._extractor = _fold_batch_norms(
                plain,
                self.layer,
                _to_tensor(self.images[:1], self.model.device),
                _presenter(self.model),
            )
        return self._extractor

    def _batches(self, n: int, device: torch.device) -> list[slice]:
        size = self.batch_size or (CPU_BATCH_SIZE if device.type == "cpu" else n)
        return [slice(start, min(start + size, n)) for start in range(0, n, size)]

    def synthesize(
        self,
        rounds: int = 8,
        steps_per_round: int = 3000,
        step_size: float = 1.0,
        *,
        progress: bool = True,
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

        Returns
        -------
        Metamer
            Itself, with :attr:`metamers`, :attr:`losses`, :attr:`final_loss` and
            :attr:`step_sizes` set.
        """
        sizes = step_sizes(rounds, steps_per_round, step_size)
        model = self.model
        device = model.device
        extractor = self._features()
        observer = _presenter(model)
        layer = self.layer

        def loss_of(batch: torch.Tensor, target: torch.Tensor, norm: torch.Tensor):
            output = extractor(observer.prepare_tensor(batch))[layer]
            if not isinstance(output, torch.Tensor):
                raise ModelError(
                    f"layer: '{layer}' of {model.name} gives a {type(output).__name__}, not a "
                    "tensor; choose a layer whose output is one tensor."
                )
            dims = tuple(range(1, output.ndim))
            return torch.linalg.vector_norm(output.float() - target, dim=dims) / norm

        n = len(self.images)
        batches = self._batches(n, device)
        x = _to_tensor(self.initial, device).clone()
        losses = torch.empty((n, len(sizes)), dtype=torch.float32, device=device)
        final = torch.empty(n, dtype=torch.float32, device=device)
        columns = (
            TextColumn(f"metamers {model.name} {layer}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("loss {task.fields[loss]}"),
        )
        with (
            _frozen(extractor),
            Progress(*columns, disable=not progress, transient=True) as bar,
        ):
            if self._target is None or self._target.device != device:
                natural = _to_tensor(self.images, device)
                with torch.no_grad():
                    self._target = torch.cat(
                        [
                            extractor(observer.prepare_tensor(natural[b]))[layer].float()
                            for b in batches
                        ]
                    )
            target = self._target
            norms = torch.linalg.vector_norm(target, dim=tuple(range(1, target.ndim)))
            if not (norms > 0).all():
                index = int(torch.nonzero(norms <= 0)[0, 0])
                raise ModelError(
                    f"images: image {index} has all-zero activations at layer '{layer}' of "
                    f"{model.name}, so the normalised loss is undefined; choose another layer."
                )
            tiny = torch.finfo(torch.float32).tiny
            task = bar.add_task("synthesis", total=len(sizes), loss="-")
            for step, eta in enumerate(sizes.tolist()):
                for batch in batches:
                    pixels = x[batch].clone().requires_grad_(True)
                    loss = loss_of(pixels, target[batch], norms[batch])
                    (gradient,) = torch.autograd.grad(loss.sum(), pixels)
                    with torch.no_grad():
                        length = torch.linalg.vector_norm(gradient, dim=(1, 2, 3), keepdim=True)
                        x[batch] = torch.addcdiv(
                            pixels, gradient, length.clamp_min(tiny), value=-eta
                        ).clamp_(0.0, 1.0)
                        losses[batch, step] = loss
                if progress and (step % 100 == 0 or step == len(sizes) - 1):
                    bar.update(task, advance=1, loss=f"{losses[:, step].mean().item():.4f}")
                else:
                    bar.advance(task)
            with torch.no_grad():
                for batch in batches:
                    final[batch] = loss_of(x[batch], target[batch], norms[batch])
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
        path = Path(path)
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
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

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
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            info = json.loads(str(arrays.pop("info")))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: file not found.") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise StimulusSetError(f"{path}: is not a metamer file ({error}).") from None
        if info.get("format") != _FORMAT:
            raise StimulusSetError(f"{path}: is not a metamer file written by Metamer.save.")
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
            resolved = _resolve_model(model, device)
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
    layers = _distinct_layers(layers, ModelError)
    _check_schedule(rounds, steps_per_round, step_size)
    resolved = _resolve_model(model, device)
    runs = {
        layer: Metamer(resolved, layer, images, seed=seed, device=device, batch_size=batch_size)
        for layer in layers
    }
    for run in runs.values():
        run.synthesize(rounds, steps_per_round, step_size, progress=progress)
    return runs


# --- validation ----------------------------------------------------------------------------------


def _unit_ranks(features: np.ndarray) -> np.ndarray:
    """Per row: ranks (ties averaged), centred and scaled to unit norm (float32)."""
    flat = features.reshape(len(features), -1)
    out = np.empty(flat.shape, dtype=np.float32)
    for index, row in enumerate(flat):
        ranks = rankdata(row) - (flat.shape[1] + 1) / 2
        out[index] = ranks / np.linalg.norm(ranks)
    return out


def _row_spearman(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``first`` with the same row of ``second``."""
    a, b = _unit_ranks(first), _unit_ranks(second)
    return np.einsum("ij,ij->i", a.astype(np.float64), b.astype(np.float64))


def null_distribution(
    model: VisionModel | str,
    layer: str,
    images: np.ndarray,
    *,
    n_pairs: int = 1000,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> np.ndarray:
    r"""Spearman correlations of the layer's activations between different natural images.

    Parameters
    ----------
    model
        A model name or a loaded :class:`~psychoalign.models.VisionModel`.
    layer
        The layer (:func:`~psychoalign.models.layer_names`).
    images
        Natural images, floats (n, height, width, 3) in [0, 1], at least two.
    n_pairs
        Pairs of different images drawn at random without repeats (every pair, once,
        when there are fewer).
    seed
        Seed of the draw.
    device
        Where to compute (default: the model's device).

    Returns
    -------
    numpy.ndarray
        ``(min(n_pairs, n (n - 1) / 2),)`` float64: :math:`\rho` of each pair.

    Notes
    -----
    :math:`\rho(a, b)` is the Pearson correlation of the ranks (ties averaged) of the
    flattened activations :math:`f_l(a)` and :math:`f_l(b)`. A metamer counts as matched
    when its :math:`\rho` with its natural image exceeds the maximum of this
    distribution (Feather et al. 2023).
    """
    resolved = _resolve_model(model, device)
    _check_layer(resolved, layer)
    return _null(resolved, _extractor(resolved, layer), layer, images, n_pairs, seed)


def _null(
    model: VisionModel,
    extractor: torch.nn.Module,
    layer: str,
    images: np.ndarray,
    n_pairs: int,
    seed: int,
) -> np.ndarray:
    pixels = _check_images(images)
    n = len(pixels)
    if n < 2:
        raise StimulusSetError(f"images: the null distribution needs at least 2 images, got {n}.")
    if isinstance(n_pairs, bool) or n_pairs < 1:
        raise StimulusSetError(f"n_pairs: {n_pairs!r} must be at least 1.")
    first, second = np.triu_indices(n, k=1)
    if n_pairs < len(first):
        chosen = np.sort(np.random.default_rng(seed).choice(len(first), n_pairs, replace=False))
        first, second = first[chosen], second[chosen]
    features = _layer_activations(_presenter(model), extractor, layer, pixels)
    ranks = _unit_ranks(features)
    rho = np.empty(len(first), dtype=np.float64)
    for start in range(0, len(first), 256):
        end = start + 256
        rho[start:end] = np.einsum(
            "ij,ij->i",
            ranks[first[start:end]].astype(np.float64),
            ranks[second[start:end]].astype(np.float64),
        )
    return rho


def validate(
    model: VisionModel | str,
    layer: str,
    naturals: np.ndarray,
    metamers: np.ndarray,
    *,
    null: np.ndarray,
    mapping: str = "imagenet-16",
    device: str | torch.device | None = None,
) -> pd.DataFrame:
    r"""Check each metamer: the model's decision and the match of its activations.

    Parameters
    ----------
    model
        A model name or a loaded :class:`~psychoalign.models.VisionModel`.
    layer
        The layer the metamers match.
    naturals, metamers
        Natural images and their metamers in the same order, floats (n, height, width, 3)
        in [0, 1]; pass the metamers as they are shown (e.g. rounded to 8 bits).
    null
        The null distribution of :math:`\rho` (:func:`null_distribution`).
    mapping
        Decision mapping of the model observer (16-way ``imagenet-16`` by default).
    device
        Where to compute (default: the model's device).

    Returns
    -------
    pandas.DataFrame
        One row per image: ``layer, natural_decision, metamer_decision, same_decision,
        spearman, null_max, final_loss, valid``.

    Notes
    -----
    ``spearman`` is :math:`\rho(f_l(x), f_l(x_{nat}))`, ``final_loss`` is
    :math:`\lVert f_l(x) - f_l(x_{nat}) \rVert_2 / \lVert f_l(x_{nat}) \rVert_2` and

    .. math:: \mathrm{valid} = [d(x) = d(x_{nat})] \wedge [\rho > \max \rho_{null}]

    with :math:`d` the observer's decision. Failed metamers are kept and flagged, as
    Feather et al. (2023) report them.
    """
    resolved = _resolve_model(model, device)
    _check_layer(resolved, layer)
    extractor = _extractor(resolved, layer)
    return _validate(resolved, extractor, layer, naturals, metamers, null, mapping)


def _validate(
    model: VisionModel,
    extractor: torch.nn.Module,
    layer: str,
    naturals: np.ndarray,
    metamers: np.ndarray,
    null: np.ndarray,
    mapping: str,
) -> pd.DataFrame:
    naturals = _check_images(naturals, "naturals")
    metamers = _check_images(metamers, "metamers")
    if metamers.shape != naturals.shape:
        raise StimulusSetError(
            f"metamers: shape {metamers.shape} differs from the naturals' {naturals.shape}."
        )
    null = np.asarray(null, dtype=np.float64).ravel()
    if null.size == 0 or not np.isfinite(null).all():
        raise StimulusSetError("null: needs at least one finite correlation (null_distribution).")
    observer = ModelObserver(model, mapping, size_handling="whole")
    both = _layer_activations(observer, extractor, layer, np.concatenate([naturals, metamers]))
    natural_features, metamer_features = both[: len(naturals)], both[len(naturals) :]
    flat_natural = natural_features.reshape(len(naturals), -1).astype(np.float64)
    flat_metamer = metamer_features.reshape(len(naturals), -1).astype(np.float64)
    loss = np.linalg.norm(flat_metamer - flat_natural, axis=1) / np.linalg.norm(
        flat_natural, axis=1
    )
    natural_decision, metamer_decision = (
        [
            decision
            for start in range(0, len(images), _EVALUATION_BATCH)
            for decision in observer.respond(images[start : start + _EVALUATION_BATCH])[0]
        ]
        for images in (naturals, metamers)
    )
    same = np.array(natural_decision) == np.array(metamer_decision)
    spearman = _row_spearman(metamer_features, natural_features)
    null_max = float(null.max())
    return pd.DataFrame(
        {
            "layer": layer,
            "natural_decision": natural_decision,
            "metamer_decision": metamer_decision,
            "same_decision": same,
            "spearman": spearman,
            "null_max": null_max,
            "final_loss": loss,
            "valid": same & (spearman > null_max),
        }
    )


# --- a stimulus set ------------------------------------------------------------------------------


def _distinct_layers(layers: str | Sequence[str], error: type[Exception]) -> list[str]:
    """The layers as a list, refusing none and repeats with ``error``."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise error("layers: at least one layer is needed.")
    repeated = [layer for index, layer in enumerate(layers) if layer in layers[:index]]
    if repeated:
        raise error(f"layers: '{repeated[0]}' is given twice.")
    return layers


def _check_layer_labels(layers: str | Sequence[str]) -> list[str]:
    """Layers that can be conditions of a metamer set (folders beside ``natural``)."""
    layers = _distinct_layers(layers, StimulusSetError)
    for layer in layers:
        if layer == NATURAL:
            raise StimulusSetError(
                f"layers: '{NATURAL}' is the condition of the natural images, not a layer."
            )
        if not layer or "/" in layer or "\\" in layer or layer.startswith("."):
            raise StimulusSetError(f"layers: '{layer}' cannot name a condition folder.")
    return layers


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


def _csv_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


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
        Use the first N images of the source, in manifest order (default: all).
    rounds, steps_per_round, step_size
        The schedule (:meth:`Metamer.synthesize`).
    seed
        Seed of the starting noise (the same noise for every layer) and of the null pairs.
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

    Returns
    -------
    StimulusSet
        The new set, opened from ``out``. Stimulus ``natural/<source stimulus>`` (the
        source file copied unchanged) or ``<layer>/<source stimulus>.png`` (8-bit PNG);
        ``condition`` is ``natural`` or the layer; extra manifest columns ``model``,
        ``layer`` (empty for natural images), ``valid`` (True for natural images),
        ``seed`` (empty for natural images) and ``source`` (the source stimulus).
    pandas.DataFrame
        The validation of every metamer (also ``validation.csv`` in the set): ``stimulus,
        image, category, model`` and the columns of :func:`validate`, computed on the
        8-bit pixels written.
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
    layers = _check_layer_labels(layers)
    _check_schedule(rounds, steps_per_round, step_size)
    SetWriter.check_target(out, overwrite=overwrite)  # before hours of synthesis, not after
    if (
        isinstance(null_pairs, bool)
        or not isinstance(null_pairs, (int, np.integer))
        or null_pairs < 1
    ):
        raise StimulusSetError(f"null_pairs: {null_pairs!r} must be a whole number of at least 1.")
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
        if (
            isinstance(images, bool)
            or not isinstance(images, (int, np.integer))
            or not 1 <= images <= len(rows)
        ):
            raise StimulusSetError(
                f"images: {images!r} must be between 1 and the {len(rows)} images of "
                f"'{source.name}'."
            )
        rows = rows[:images]
    if source.saved:
        source.verify(raise_errors=True)
    resolved = _resolve_model(model, device)
    names = layer_names(resolved)
    for layer in layers:
        _check_layer(resolved, layer, names)
    naturals = _read_same_size([row.path for row in rows])
    frame = source.frame()
    null_rows = np.arange(len(frame))
    if len(null_rows) > NULL_IMAGES:
        null_rows = np.sort(np.random.default_rng(seed).choice(null_rows, NULL_IMAGES, False))
    null_images = _read_same_size([frame.path.iloc[i] for i in null_rows])

    total = rounds * steps_per_round
    kept = _kept_steps(total)
    shown: dict[str, np.ndarray] = {}
    validations, curves, nulls = [], [], []
    for layer in layers:
        metamer = Metamer(resolved, layer, naturals, seed=seed, device=device)
        metamer.synthesize(rounds, steps_per_round, step_size, progress=progress)
        shown[layer] = to_uint8(metamer.metamers).astype(np.float32) / np.float32(255)
        extractor = _extractor(resolved, layer)
        null = _null(resolved, extractor, layer, null_images, null_pairs, seed)
        nulls.append(pd.DataFrame({"model": resolved.name, "layer": layer, "rho": null}))
        stimuli = [
            str(PurePosixPath(layer) / PurePosixPath(row.stimulus).with_suffix(".png"))
            for row in rows
        ]
        checked = _validate(resolved, extractor, layer, naturals, shown[layer], null, mapping)
        checked.insert(0, "model", resolved.name)
        checked.insert(0, "category", [row.category for row in rows])
        checked.insert(0, "image", [row.image for row in rows])
        checked.insert(0, "stimulus", stimuli)
        validations.append(checked)
        curve = np.concatenate([metamer.losses[:, kept], metamer.final_loss[:, None]], axis=1)
        steps = np.r_[kept, total]
        curves.append(
            pd.DataFrame(
                {
                    "stimulus": np.repeat(stimuli, len(steps)),
                    "layer": layer,
                    "step": np.tile(steps, len(rows)),
                    "loss": curve.ravel().astype(np.float64),
                }
            )
        )
    validation = pd.concat(validations, ignore_index=True)
    losses = pd.concat(curves, ignore_index=True)
    null_table = pd.concat(nulls, ignore_index=True)

    info = {
        "name": name or Path(out).name,
        "source": source.identity(),
        "made_with": {
            "tool": "psychoalign.stimuli.metamers.make_metamer_set",
            "model": resolved.name,
            "weights": resolved.weights,
            "weights_sha256": resolved.weights_sha256,
            "layers": layers,
            "rounds": rounds,
            "steps_per_round": steps_per_round,
            "step_size": step_size,
            "initial_noise_sd": INITIAL_SD,
            "mapping": mapping,
            "null_pairs": len(nulls[0]),
            "null_images": len(null_rows),
            "losses_every": LOSSES_EVERY if total > LOSSES_ALL_UP_TO else 1,
            "torch": torch.__version__,
        },
        "seed": seed,
    }
    valid = dict(zip(validation.stimulus, validation.valid, strict=True))
    with SetWriter(out, overwrite=overwrite) as writer:
        for row in rows:
            writer.add(
                {
                    "stimulus": str(PurePosixPath(NATURAL) / row.stimulus),
                    "image": row.image,
                    "category": row.category,
                    "condition": NATURAL,
                    "sha256": row.sha256,
                    "model": resolved.name,
                    "layer": "",
                    "valid": True,
                    "seed": "",
                    "source": row.stimulus,
                },
                row.path.read_bytes(),
            )
        for layer in layers:
            for row, pixels in zip(rows, shown[layer], strict=True):
                stimulus = str(
                    PurePosixPath(layer) / PurePosixPath(row.stimulus).with_suffix(".png")
                )
                writer.add(
                    {
                        "stimulus": stimulus,
                        "image": row.image,
                        "category": row.category,
                        "condition": layer,
                        "model": resolved.name,
                        "layer": layer,
                        "valid": bool(valid[stimulus]),
                        "seed": seed,
                        "source": row.stimulus,
                    },
                    encode_png(pixels),
                )
        for file, table in (
            ("validation.csv", validation),
            ("losses.csv", losses),
            ("null.csv", null_table),
        ):
            writer.add_file(file, _csv_bytes(table))
        made = writer.commit(info)
    return made, validation, losses
