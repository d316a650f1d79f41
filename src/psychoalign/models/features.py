"""Layer activations of a model by layer name (``torchvision.models.feature_extraction``)."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from psychoalign.models.observer import ModelObserver
from psychoalign.models.zoo import ModelError, VisionModel

__all__ = ["activations", "check_layers", "feature_extractor", "layer_names"]


def _graph_nodes(model: VisionModel) -> list[str]:
    with warnings.catch_warnings():  # train/eval node lists differ; psychoalign uses eval
        warnings.simplefilter("ignore", UserWarning)
        _, nodes = get_graph_node_names(model.module)
    return nodes


def layer_names(model: VisionModel) -> list[str]:
    """Every name whose activation can be read: module paths (their last node) and graph nodes.

    Examples
    --------
    >>> from psychoalign.models import load_model
    >>> names = layer_names(load_model(device="cpu"))
    >>> "_blocks.3" in names and "_fc" in names
    True
    """
    nodes = _graph_nodes(model)
    modules = [name for name, _ in model.module.named_modules() if name]
    prefixes = {
        name for name in modules if any(n == name or n.startswith(f"{name}.") for n in nodes)
    }
    return [*(m for m in modules if m in prefixes), *(n for n in nodes if n not in prefixes)]


def check_layers(
    model: VisionModel, layers: Sequence[str], *, parameter: str = "layers"
) -> list[str]:
    """The layers, each checked to be a layer of the model (:func:`layer_names`).

    Parameters
    ----------
    model
        The model.
    layers
        Layer names.
    parameter
        The parameter named in the refusal.

    Returns
    -------
    list of str
        The layers, in the order given.

    Raises
    ------
    ModelError
        For the first name that is not a layer, with the closest valid names.

    Examples
    --------
    >>> from psychoalign.models import load_model
    >>> check_layers(load_model(device="cpu"), ["_blocks.1"], parameter="layer")
    ['_blocks.1']
    """
    valid = layer_names(model)
    known = set(valid)
    for layer in layers:
        if layer not in known:
            close = difflib.get_close_matches(str(layer), valid, n=5, cutoff=0.5)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else f"valid names start with {', '.join(valid[:5])}"
            )
            raise ModelError(
                f"{parameter}: '{layer}' is not a layer of {model.name}; {hint} "
                f"(`psychoalign models layers {model.name}` lists all {len(valid)})."
            )
    return list(layers)


def feature_extractor(
    model: VisionModel, layers: Sequence[str], *, check: bool = True
) -> torch.nn.Module:
    """A module mapping the model's normalised input to ``{layer: activation}``.

    Parameters
    ----------
    model
        The model.
    layers
        Layer names (:func:`layer_names`).
    check
        Check the names first (:func:`check_layers`); pass False for names already
        checked, since each check traces the whole model.
    """
    if check:
        layers = check_layers(model, layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return create_feature_extractor(model.module, return_nodes=list(layers)).eval()


def activations(
    observer: ModelObserver,
    images: np.ndarray,
    layers: Sequence[str],
    *,
    batch_size: int = 32,
    extractor: torch.nn.Module | None = None,
) -> dict[str, np.ndarray]:
    """Activations of named layers for stimulus pixels, prepared as the observer presents them.

    Parameters
    ----------
    observer
        The model observer (its model and size handling are used).
    images
        Stimulus pixels (n, height, width, 3) in [0, 1].
    layers
        Layer names (:func:`layer_names`); a name that does not exist is refused with the
        closest valid names.
    batch_size
        Images per forward pass.
    extractor
        The :func:`feature_extractor` of these layers of the observer's model, when it is
        already built (it is then used as it is, and the names are not checked again).

    Returns
    -------
    dict of str to numpy.ndarray
        Each layer's activations, (n, ...) as the layer produces them.
    """
    if extractor is None:
        extractor = feature_extractor(observer.model, layers)
    images = np.asarray(images, dtype=np.float32)
    outputs: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            result = extractor(observer.prepare(images[start : start + batch_size]))
            for layer in layers:
                outputs[layer].append(result[layer].float().cpu().numpy())
    return {layer: np.concatenate(parts) for layer, parts in outputs.items()}
