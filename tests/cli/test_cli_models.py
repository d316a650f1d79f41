"""``psychoalign evaluate`` and ``psychoalign models``."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from psychoalign.cli import app
from support import HUMAN_RAW, raw_rows

runner = CliRunner()


def test_evaluate_then_compare_with_the_human_data(tmp_path):
    sets = tmp_path / "sets"
    from psychoalign.datasets import stimulus_set

    stimulus_set("silhouette").subset(categories=["car", "cat"]).write(
        sets / "silhouette", name="silhouette"
    )
    out = tmp_path / "runs"
    args = [
        "evaluate",
        "--model",
        "efficientnet_lite0",
        "--stimuli",
        str(sets / "silhouette"),
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "efficientnet_lite0" in result.output and "ran" in result.output
    assert (out / "silhouette" / "efficientnet_lite0" / "trials.csv").is_file()
    assert "skipped" in runner.invoke(app, args).output
    humans = tmp_path / "humans"
    humans.mkdir()
    for source in sorted((HUMAN_RAW / "silhouette").glob("*.csv")):
        rows = [r for r in raw_rows(source) if r["category"] in ("car", "cat")]
        lines = ["subj,session,trial,rt,object_response,category,condition,imagename"] + [
            ",".join(
                r[c]
                for c in (
                    "subj",
                    "session",
                    "trial",
                    "rt",
                    "object_response",
                    "category",
                    "condition",
                    "imagename",
                )
            )
            for r in rows
        ]
        (humans / source.name).write_text("\n".join(lines) + "\n")
    compared = tmp_path / "compared"
    result = runner.invoke(app, ["compare", str(humans), str(out), "--out", str(compared)])
    assert result.exit_code == 0, result.output
    kappa = pd.read_csv(compared / "error_consistency.csv")
    model_pairs = kappa[(kappa.kind_1 == "model") | (kappa.kind_2 == "model")]
    assert len(model_pairs) == 10 and (model_pairs.n_trials == 20).all()


def test_evaluate_without_cached_weights_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            "alexnet",
            "--stimuli",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "is not a stimulus set" in result.output
    from psychoalign.datasets import stimulus_set

    edge = stimulus_set("edge").subset(categories=["car"]).write(tmp_path / "edge")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            "alexnet",
            "--stimuli",
            str(edge.path),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "alexnet: its weights file" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_models_layers_lists_names():
    result = runner.invoke(app, ["models", "layers", "efficientnet_lite0"])
    assert result.exit_code == 0 and "_blocks.3\n" in result.output


def test_models_list_marks_weights_bundled_cached_or_not_downloaded(tmp_path, monkeypatch):
    # A real torch hub cache layout: resnet18's default weights under the name of its URL.
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet18-f37072fd.pth").write_bytes(b"not read by 'models list'")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "huggingface"))
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    marks = dict(line.split(maxsplit=1) for line in listed.output.splitlines())
    assert marks["efficientnet_lite0"] == "weights: bundled"
    assert marks["resnet18"] == "weights: cached"
    assert marks["resnet50"] == "weights: not downloaded"
    assert len(marks) > 1000
    local = runner.invoke(app, ["models", "list", "--local"])
    assert local.exit_code == 0, local.output
    assert [line.split()[0] for line in local.output.splitlines()] == [
        "efficientnet_lite0",
        "resnet18",
    ]
