r"""Validation of model metamers: the model's decision and the match of the activations.

A metamer is valid when the model makes the same 16-way decision on it as on its natural
image and the Spearman correlation of their activations at the layer exceeds every one of
a null distribution from pairs of different natural images (Feather et al. 2023).
:func:`null_distribution` draws that distribution and :func:`validate` checks each
metamer against it.

References
----------
.. [1] Feather, Leclerc, Mądry & McDermott (2023). Model metamers reveal divergent
   invariances between biological and artificial neural networks. Nature Neuroscience,
   26, 2017-2034.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from psychoalign._checks import whole_number
from psychoalign.errors import StimulusSetError
from psychoalign.models.features import activations, check_layers, feature_extractor
from psychoalign.models.observer import ModelObserver
from psychoalign.models.zoo import VisionModel, resolve_model
from psychoalign.synthesis._inputs import _check_images, _presenter

__all__ = ["null_distribution", "validate"]

#: Images per forward pass when computing activations and decisions.
_EVALUATION_BATCH = 32
#: Pairs whose correlations are computed at once (bounds the memory of the ranks).
_PAIR_BLOCK = 256


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


def _layer_extractor(
    model: VisionModel, layer: str, extractor: torch.nn.Module | None
) -> torch.nn.Module:
    """The given extractor, or the network up to the checked layer."""
    if extractor is not None:
        return extractor
    check_layers(model, [layer], parameter="layer")
    return feature_extractor(model, [layer], check=False)


def _layer_activations(
    observer: ModelObserver, extractor: torch.nn.Module, layer: str, images: np.ndarray
) -> np.ndarray:
    return activations(
        observer, images, [layer], batch_size=_EVALUATION_BATCH, extractor=extractor
    )[layer]


def null_distribution(
    model: VisionModel | str,
    layer: str,
    images: np.ndarray,
    *,
    n_pairs: int = 1000,
    seed: int = 0,
    device: str | torch.device | None = None,
    extractor: torch.nn.Module | None = None,
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
    extractor
        The network up to the layer (:func:`~psychoalign.models.features.
        feature_extractor` of ``[layer]``), when it is already built: it is used as it
        is and ``layer`` is not checked again (each check traces the whole model).

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
    resolved = resolve_model(model, device)
    extractor = _layer_extractor(resolved, layer, extractor)
    pixels = _check_images(images)
    n = len(pixels)
    if n < 2:
        raise StimulusSetError(f"images: the null distribution needs at least 2 images, got {n}.")
    whole_number("n_pairs", n_pairs, 1, error=StimulusSetError)
    first, second = np.triu_indices(n, k=1)
    if n_pairs < len(first):
        chosen = np.sort(np.random.default_rng(seed).choice(len(first), n_pairs, replace=False))
        first, second = first[chosen], second[chosen]
    features = _layer_activations(_presenter(resolved), extractor, layer, pixels)
    ranks = _unit_ranks(features)
    rho = np.empty(len(first), dtype=np.float64)
    for start in range(0, len(first), _PAIR_BLOCK):
        end = start + _PAIR_BLOCK
        rho[start:end] = np.einsum(
            "ij,ij->i",
            ranks[first[start:end]].astype(np.float64),
            ranks[second[start:end]].astype(np.float64),
        )
    return rho


def _decisions(observer: ModelObserver, images: np.ndarray) -> list[str]:
    """The observer's decision on each image, in batches."""
    return [
        decision
        for start in range(0, len(images), _EVALUATION_BATCH)
        for decision in observer.respond(images[start : start + _EVALUATION_BATCH])[0]
    ]


def validate(
    model: VisionModel | str,
    layer: str,
    naturals: np.ndarray,
    metamers: np.ndarray,
    *,
    null: np.ndarray,
    mapping: str = "imagenet-16",
    device: str | torch.device | None = None,
    extractor: torch.nn.Module | None = None,
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
    extractor
        The network up to the layer, when it is already built (as for
        :func:`null_distribution`).

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
    resolved = resolve_model(model, device)
    extractor = _layer_extractor(resolved, layer, extractor)
    naturals = _check_images(naturals, "naturals")
    metamers = _check_images(metamers, "metamers")
    if metamers.shape != naturals.shape:
        raise StimulusSetError(
            f"metamers: shape {metamers.shape} differs from the naturals' {naturals.shape}."
        )
    null = np.asarray(null, dtype=np.float64).ravel()
    if null.size == 0 or not np.isfinite(null).all():
        raise StimulusSetError("null: needs at least one finite correlation (null_distribution).")
    observer = ModelObserver(resolved, mapping, size_handling="whole")
    both = _layer_activations(observer, extractor, layer, np.concatenate([naturals, metamers]))
    natural_features, metamer_features = both[: len(naturals)], both[len(naturals) :]
    flat_natural = natural_features.reshape(len(naturals), -1).astype(np.float64)
    flat_metamer = metamer_features.reshape(len(naturals), -1).astype(np.float64)
    loss = np.linalg.norm(flat_metamer - flat_natural, axis=1) / np.linalg.norm(
        flat_natural, axis=1
    )
    natural_decision = _decisions(observer, naturals)
    metamer_decision = _decisions(observer, metamers)
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
