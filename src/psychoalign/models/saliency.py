"""Feature-importance maps of a model observer for a target category, with captum.

The maps are taken with respect to the stimulus pixels themselves: the observer's
preprocessing (resize to the model's input, normalisation) and its decision mapping are
part of the differentiated function, so a map has the stimulus's own resolution and
answers "which pixels of what the participant saw drive the score of this category".

References
----------
.. [1] Simonyan, Vedaldi & Zisserman (2014). Deep inside convolutional networks:
   visualising image classification models and saliency maps. ICLR workshop.
.. [2] Smilkov, Thorat, Kim, Viégas & Wattenberg (2017). SmoothGrad: removing noise by
   adding noise. arXiv:1706.03825.
.. [3] Sundararajan, Taly & Yan (2017). Axiomatic attribution for deep networks. ICML.
.. [4] Zeiler & Fergus (2014). Visualizing and understanding convolutional networks. ECCV.
.. [5] Kokhlikyan et al. (2020). Captum: a unified and generic model interpretability
   library for PyTorch. arXiv:2009.07896.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from psychoalign.models.observer import ModelObserver
from psychoalign.models.zoo import ModelError

__all__ = ["IMPORTANCE_METHODS", "feature_importance"]

#: Methods of :func:`feature_importance`.
IMPORTANCE_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "occlusion")


class _CategoryScores(nn.Module):
    """Stimulus pixels (n, 3, h, w) in [0, 1] -> mapped category scores (n, categories)."""

    def __init__(self, observer: ModelObserver):
        super().__init__()
        self.observer = observer

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        inputs = self.observer.prepare_tensor(pixels)
        softmax = torch.softmax(self.observer.model.module(inputs).float(), dim=1)
        return softmax @ self.observer.category_weights.to(softmax.device)


def feature_importance(
    observer: ModelObserver,
    images: np.ndarray,
    targets: Sequence[str],
    *,
    method: str = "saliency",
    baseline: float = 0.5,
    n_samples: int = 16,
    noise: float = 0.15,
    steps: int = 32,
    window: int = 16,
    stride: int = 8,
    absolute: bool = True,
    seed: int = 0,
) -> np.ndarray:
    r"""Importance of every stimulus pixel for the observer's score of a target category.

    Parameters
    ----------
    observer
        The model observer (its preprocessing and decision mapping are used).
    images
        Stimulus pixels (n, height, width, 3) in [0, 1], as shown to participants.
    targets
        The target category of each image (usually its true category).
    method
        ``"saliency"`` (absolute gradient), ``"smoothgrad"`` (saliency averaged over
        noisy copies), ``"integrated_gradients"`` (from a uniform grey ``baseline``) or
        ``"occlusion"`` (drop in score when a grey ``window`` x ``window`` patch covers
        the pixel, sliding by ``stride``).
    baseline
        Grey level of the integrated-gradients baseline and of occluding patches.
    n_samples, noise
        SmoothGrad: number of noisy copies and the noise's standard deviation (in
        pixel units, 0-1).
    steps
        Integrated gradients: number of steps of the path integral.
    window, stride
        Occlusion: patch size and step, in stimulus pixels.
    absolute
        Gradient methods: sum the absolute attributions over colour channels (default);
        False keeps their sign (integrated gradients then add up to
        :math:`s_c(x) - s_c(x_0)`).
    seed
        Seed of SmoothGrad's noise.

    Returns
    -------
    numpy.ndarray
        (n, height, width) maps at stimulus resolution: for the gradient methods the
        sum over colour channels of the (absolute) attribution, for occlusion the mean
        score drop over the channels (positive = the pixel supports the target).

    Notes
    -----
    The function differentiated is :math:`s_c(x)`, the mapped score of category
    :math:`c` (e.g. the mean softmax probability over its ImageNet classes) as a function
    of the stimulus pixels :math:`x`, the observer's resize and normalisation included.
    Integrated gradients: :math:`(x - x_0)\int_0^1 \nabla s_c(x_0 + \alpha(x - x_0))\,d\alpha`.
    """
    if method not in IMPORTANCE_METHODS:
        raise ModelError(f"method: '{method}' is not one of {', '.join(IMPORTANCE_METHODS)}.")
    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency

    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[None]
    if len(targets) != len(images):
        raise ModelError(f"targets: {len(targets)} targets for {len(images)} images.")
    unknown = [t for t in targets if t not in observer.mapping.categories]
    if unknown:
        raise ModelError(
            f"targets: '{unknown[0]}' is not a category of mapping '{observer.mapping.name}'."
        )
    target_index = torch.tensor([observer.mapping.categories.index(t) for t in targets])
    scores = _CategoryScores(observer).eval()
    device = observer.model.device
    pixels = torch.as_tensor(images).permute(0, 3, 1, 2).to(device).requires_grad_(True)
    target_index = target_index.to(device)
    if method == "saliency":
        maps = Saliency(scores).attribute(pixels, target=target_index, abs=absolute)
    elif method == "smoothgrad":
        torch.manual_seed(seed)
        maps = NoiseTunnel(Saliency(scores)).attribute(
            pixels,
            target=target_index,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            stdevs=noise,
            abs=absolute,
        )
    elif method == "integrated_gradients":
        maps = IntegratedGradients(scores).attribute(
            pixels, baselines=torch.full_like(pixels, baseline), target=target_index, n_steps=steps
        )
        maps = maps.abs() if absolute else maps
    else:
        with torch.no_grad():
            maps = Occlusion(scores).attribute(
                pixels.detach(),
                target=target_index,
                sliding_window_shapes=(3, window, window),
                strides=(3, stride, stride),
                baselines=baseline,
                perturbations_per_eval=max(1, observer.batch_size // len(images)),
            )
        return maps.mean(dim=1).detach().cpu().numpy()
    return maps.sum(dim=1).detach().cpu().numpy()
