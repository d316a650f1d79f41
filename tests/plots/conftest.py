"""Real trials for the figures: bundled humans, and the bundled model on half of each set."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import torch

from psychoalign.datasets import load_model_vs_human, stimulus_set
from psychoalign.models import ModelObserver
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

HALF = [
    f"{category}{number}.png" for category in MODEL_VS_HUMAN_CATEGORIES for number in range(1, 6)
]


@pytest.fixture(scope="session")
def real_trials() -> pd.DataFrame:
    """Humans of four datasets; the model on edge and silhouette."""
    humans = load_model_vs_human(["edge", "silhouette", "uniform-noise", "cue-conflict"])
    observer = ModelObserver("efficientnet_lite0", device="cpu")
    runs = [
        observer.run(stimulus_set(name).subset(images=HALF), progress=False).trials
        for name in ("edge", "silhouette")
    ]
    half = humans["image"].isin(HALF) | ~humans["experiment"].isin(["edge", "silhouette"])
    return pd.concat([humans[half], *runs], ignore_index=True)
