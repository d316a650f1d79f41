"""Shared fixtures: small slices of the bundled real data and hand-built trial tables."""

from __future__ import annotations

import pandas as pd
import pytest

from psychoalign.datasets import load_model_vs_human


@pytest.fixture(scope="session")
def model_vs_human_trials() -> pd.DataFrame:
    return load_model_vs_human()


@pytest.fixture(scope="session")
def edge_trials(model_vs_human_trials: pd.DataFrame) -> pd.DataFrame:
    return model_vs_human_trials.query("experiment == 'edge'").reset_index(drop=True)
