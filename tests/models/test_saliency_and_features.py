from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from psychoalign.datasets import stimulus_set
from psychoalign.models import (
    IMPORTANCE_METHODS,
    ModelError,
    ModelObserver,
    Preprocessing,
    activations,
    feature_importance,
    from_module,
    layer_names,
)


class _TopLeftQuadrant(nn.Module):
    """Logit of 'lit' = 8 x mean of channel 0 over the top-left quadrant; 'dark' = 0."""

    def forward(self, x):
        half = x.shape[-1] // 2
        lit = 8.0 * x[:, 0, :half, :half].mean(dim=(1, 2))
        return torch.stack([lit, torch.zeros_like(lit)], dim=1)


@pytest.fixture(scope="module")
def quadrant_observer() -> ModelObserver:
    model = from_module(
        _TopLeftQuadrant(),
        ["lit", "dark"],
        name="quadrant",
        preprocessing=Preprocessing(
            crop=32, resize=None, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)
        ),
    )
    return ModelObserver(model, "identity", device="cpu")


def _images(n: int = 2, size: int = 32) -> np.ndarray:
    return np.random.default_rng(0).random((n, size, size, 3))


@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "integrated_gradients", "occlusion"])
def test_importance_lies_where_the_model_looks(quadrant_observer, method):
    maps = feature_importance(
        quadrant_observer,
        _images(),
        ["lit", "lit"],
        method=method,
        window=4,
        stride=4,
        steps=16,
        n_samples=4,
    )
    assert maps.shape == (2, 32, 32)
    inside, outside = maps[:, :16, :16], maps[:, 16:, :].copy()
    assert np.abs(outside).max() < 1e-6 and np.abs(maps[:, :16, 16:]).max() < 1e-6
    assert inside.mean() > 0


def test_saliency_is_the_gradient_of_the_category_score(quadrant_observer):
    images = _images(1)
    maps = feature_importance(quadrant_observer, images, ["lit"], method="saliency", absolute=False)
    mean = images[0, :16, :16, 0].mean()
    score = 1 / (1 + np.exp(-8 * mean))  # softmax of (8 m, 0)
    expected = score * (1 - score) * 8 / 256  # d score / d pixel, channel 0 only
    np.testing.assert_allclose(maps[0, :16, :16], expected, rtol=1e-5)


def test_integrated_gradients_add_up_to_the_score_difference(quadrant_observer):
    images = _images(1)
    maps = feature_importance(
        quadrant_observer, images, ["lit"], method="integrated_gradients", absolute=False, steps=64
    )
    mean = images[0, :16, :16, 0].mean()
    difference = 1 / (1 + np.exp(-8 * mean)) - 1 / (1 + np.exp(-8 * 0.5))
    assert maps.sum() == pytest.approx(difference, rel=1e-3)


def test_maps_have_the_stimulus_resolution_on_the_bundled_model(observer):
    stimuli = stimulus_set("silhouette")
    image = stimuli.load("bear/bear1.png")[::2, ::2]  # a 112 px stimulus, resized inside
    maps = feature_importance(observer, image, ["bear"], method="saliency")
    assert maps.shape == (1, 112, 112) and maps.max() > 0
    with pytest.raises(ModelError, match=r"targets: 'zebra' is not a category"):
        feature_importance(observer, image, ["zebra"])
    with pytest.raises(ModelError, match=r"method: 'gradcam' is not one of"):
        feature_importance(observer, image, ["bear"], method="gradcam")
    assert set(IMPORTANCE_METHODS) == {
        "saliency",
        "smoothgrad",
        "integrated_gradients",
        "occlusion",
    }


def test_layer_activations_by_name(observer):
    names = layer_names(observer.model)
    assert (
        "_blocks.3" in names
        and "_conv_stem" in names
        and names.index("_conv_stem") < names.index("_fc")
    )
    stimuli = stimulus_set("edge")
    images = np.stack([stimuli.load(s) for s in stimuli.manifest.stimulus[:3]])
    result = activations(observer, images, ["_blocks.3", "_fc"])
    assert result["_blocks.3"].shape == (3, 40, 28, 28)
    with torch.inference_mode():
        logits = observer.model.module(observer.prepare(images)).numpy()
    np.testing.assert_allclose(result["_fc"], logits, rtol=1e-5, atol=1e-5)


def test_a_layer_typo_lists_the_closest_names(observer):
    with pytest.raises(
        ModelError, match=r"'_block.3' is not a layer of efficientnet_lite0; did you mean _blocks.3"
    ):
        activations(observer, np.zeros((1, 224, 224, 3)), ["_block.3"])
