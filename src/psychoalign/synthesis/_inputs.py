"""Checks of the inputs of synthesis and validation: the model and the images."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from psychoalign.errors import StimulusSetError
from psychoalign.models.observer import ModelObserver
from psychoalign.models.zoo import VisionModel

__all__: list[str] = []


def _presenter(model: VisionModel) -> ModelObserver:
    """An observer used only for its pixel pipeline (any output labels, no decisions)."""
    return ModelObserver(model, "identity", size_handling="whole")


def _check_images(images: Any, parameter: str = "images") -> np.ndarray:
    """Images as contiguous float32 (n, height, width, 3) in [0, 1], else one sentence."""
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


def _to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(n, h, w, 3) pixels to an (n, 3, h, w) tensor in channels-last memory (no copy on CPU)."""
    return (
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        .permute(0, 3, 1, 2)
        .to(device)
    )


def _to_numpy(batch: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(batch.detach().permute(0, 2, 3, 1).cpu().numpy())
