"""``psychoalign metamers published``: the published matrices in, tables and figure out."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from psychoalign.cli import app
from support import SHARED_DATA

runner = CliRunner()
EXP1 = SHARED_DATA / "model-metamers" / "EXP1"


def _one_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return " ".join(output.split())


def test_published_writes_the_tables_and_prints_the_anovas(tmp_path):
    files = sorted(str(path) for path in EXP1.glob("*_public.mat"))
    out = tmp_path / "published"
    result = runner.invoke(
        app,
        ["metamers", "published", *files, "--out", str(out), "--permutations", "99", "--seed", "2"],
    )
    assert result.exit_code == 0, result.output
    anova = pd.read_csv(out / "anova.csv")
    assert sorted(anova.model.unique()) == [
        "alexnet",
        "cornet_s",
        "resnet101",
        "resnet50",
        "vgg_19",
    ]
    assert (anova.p_permutation == 1 / 100).all()
    printed = " ".join(result.output.split())
    vgg = anova[(anova.model == "vgg_19") & (anova.source == "observer_group:layer")].iloc[0]
    assert f"│ vgg_19 │ group × layer │ 9, 378 │ {vgg.F:.1f} │" in printed
    for name in ("recognisability.csv", "recognisability.json", "recognisability_figure.svg"):
        assert (out / name).is_file()


def test_published_refuses_a_file_it_cannot_read_and_writes_nothing(tmp_path):
    stray = tmp_path / "VisionExperiment1_network_vs_humans_datamatrix_alexnet_public.mat"
    stray.write_bytes(b"not a matlab file")
    out = tmp_path / "published"
    result = runner.invoke(app, ["metamers", "published", str(stray), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{stray}: is not a MATLAB v5 .mat file" in _one_error(result.output)
    named = runner.invoke(app, ["metamers", "published", str(tmp_path), "--out", str(out)])
    assert named.exit_code == 2 and f"{stray}: is not a MATLAB" in _one_error(named.output)
    zero = runner.invoke(
        app,
        ["metamers", "published", str(EXP1), "--out", str(out), "--permutations", "0"],
    )
    assert zero.exit_code == 2
    assert "n_permutations: 0 must be a whole number of at least 1." in _one_error(zero.output)
    assert not out.exists()
