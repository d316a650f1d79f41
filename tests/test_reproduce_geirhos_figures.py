"""``analysis/reproduce_geirhos_figures.py``: the published figures from the raw files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from support import SHARED_DATA

SCRIPT = Path(__file__).resolve().parents[1] / "analysis" / "reproduce_geirhos_figures.py"


def test_the_script_redraws_the_2019_shape_bias_and_the_2018_noise_curves(tmp_path):
    out = tmp_path / "geirhos"
    command = [sys.executable, str(SCRIPT), "--data", str(SHARED_DATA), "--out", str(out)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    bias = pd.read_csv(out / "texture-vs-shape" / "shape_bias.csv").set_index("observer")
    # Geirhos et al. 2019, Figure 4.
    assert bias.shape_bias.round(3)[["alexnet", "googlenet", "vgg"]].tolist() == [
        0.429,
        0.312,
        0.172,
    ]
    per_category = pd.read_csv(out / "figures" / "shape_bias_2019.csv")
    assert per_category.category[per_category.category != "all"].nunique() == 16
    curves = pd.read_csv(out / "figures" / "noise_accuracy_2018.csv", dtype={"condition": str})
    assert set(curves.series) == {"humans", "googlenet", "vgg19", "resnet152"}
    at_35 = curves[curves.condition == "0.35"].set_index("series").accuracy
    # Humans stay far above the CNNs at width 0.35 (Geirhos et al. 2018, Figure 3).
    assert at_35["humans"] > 0.4 > 0.15 > at_35[["googlenet", "vgg19", "resnet152"]].max()
    for name in ("shape_bias_2019", "noise_accuracy_2018"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
