"""Model tests share one loaded bundled model; under xdist each worker uses one thread."""

from __future__ import annotations

import os

import pytest
import torch

from psychoalign.models import ModelObserver, load_model

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def lite0():
    return load_model("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def observer(lite0) -> ModelObserver:
    return ModelObserver(lite0, "imagenet-16", device="cpu")
