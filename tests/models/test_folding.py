"""Batch norms folded into convolutions: the same activations, the model untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from psychoalign.datasets import stimulus_set
from psychoalign.models import ModelObserver, Preprocessing, from_module
from psychoalign.models.features import feature_extractor
from psychoalign.models.folding import fold_batch_norms

LAYER = "_blocks.1"


def _pixels(images: np.ndarray) -> torch.Tensor:
    """(n, h, w, 3) pixels as the (n, 3, h, w) tensor the extractor's observer prepares."""
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).permute(0, 3, 1, 2)


def _norm(channels: int, seed: int) -> torch.nn.BatchNorm2d:
    """An eval-mode batch norm with random running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(seed)
    norm = torch.nn.BatchNorm2d(channels)
    with torch.no_grad():
        norm.running_mean.copy_(torch.randn(channels, generator=generator))
        norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
        norm.weight.copy_(torch.randn(channels, generator=generator))
        norm.bias.copy_(torch.randn(channels, generator=generator))
    return norm.eval()


class _FunctionalConv(torch.nn.Module):
    """A convolution written as an ``F.conv2d`` call on its own weight and bias."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(1)
        self.weight = torch.nn.Parameter(torch.randn(4, 4, 3, 3, generator=generator))
        self.bias = torch.nn.Parameter(torch.randn(4, generator=generator))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, padding=1)


class _Shared(torch.nn.Module):
    """bn(conv(x)) + conv(x): the convolution has two users, so it cannot be folded."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.norm = _norm(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.norm(y) + y


def _toy(features: torch.nn.Module):
    module = torch.nn.Sequential()
    module.add_module("features", features)
    module.add_module("flatten", torch.nn.Flatten())
    module.add_module("head", torch.nn.Linear(4 * 8 * 8, 2))
    return from_module(
        module,
        ["a", "b"],
        name="toy",
        preprocessing=Preprocessing(crop=8, resize=None, mean=(0.0,) * 3, std=(1.0,) * 3),
    )


@pytest.fixture(scope="module")
def probe() -> torch.Tensor:
    return _pixels(np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)))


def test_module_and_functional_convolutions_fold_to_the_same_output(probe):
    features = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), _norm(4, 0), _FunctionalConv(), _norm(4, 3)
    )
    model = _toy(features)
    plain = feature_extractor(model, ["features"])
    observer = ModelObserver(model, "identity", size_handling="whole")
    folded = fold_batch_norms(plain, "features", probe, observer)
    assert folded is not plain
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.module.modules()) == 2
    inputs = observer.prepare_tensor(probe)
    with torch.no_grad():
        expected = features(inputs)
        torch.testing.assert_close(folded(inputs)["features"], expected, rtol=1e-5, atol=1e-5)


def test_a_convolution_with_two_users_is_left_as_it_is(probe):
    model = _toy(_Shared())
    plain = feature_extractor(model, ["features"])
    observer = ModelObserver(model, "identity", size_handling="whole")
    assert fold_batch_norms(plain, "features", probe, observer) is plain


def test_folded_batch_norms_compute_the_same_activations(lite0):
    edge = stimulus_set("edge")
    naturals = np.stack([edge.load(name) for name in ("clock/clock2.png", "chair/chair3.png")])
    plain = feature_extractor(lite0, [LAYER])
    observer = ModelObserver(lite0)
    folded = fold_batch_norms(plain, LAYER, _pixels(naturals[:1]), observer)
    assert folded is not plain
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    inputs = observer.prepare_tensor(_pixels(naturals))
    with torch.no_grad():
        torch.testing.assert_close(
            folded(inputs)[LAYER], plain(inputs)[LAYER], rtol=1e-4, atol=1e-4
        )
