"""Shared fixtures: small slices of the bundled real data and hand-built trial tables."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from psychoalign.datasets import load_model_vs_human


@pytest.fixture(scope="session")
def model_vs_human_trials() -> pd.DataFrame:
    return load_model_vs_human()


@pytest.fixture(scope="session")
def edge_trials(model_vs_human_trials: pd.DataFrame) -> pd.DataFrame:
    return model_vs_human_trials.query("experiment == 'edge'").reset_index(drop=True)


@pytest.fixture(scope="session")
def lite0():
    """The bundled EfficientNet-Lite0 on the CPU (one thread per xdist worker)."""
    import torch

    from psychoalign.models import load_model

    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    return load_model("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def observer(lite0):
    from psychoalign.models import ModelObserver

    return ModelObserver(lite0, "imagenet-16", device="cpu")
