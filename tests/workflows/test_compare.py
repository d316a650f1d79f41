"""compare_files (``psychoalign compare``) and the pieces of the comparison pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from psychoalign.errors import PsychoalignError, TrialDataError
from psychoalign.metrics import comparison_tables
from psychoalign.provenance import file_sha256
from psychoalign.trials import MODEL_VS_HUMAN_CATEGORIES, find_trial_files, read_trials
from psychoalign.workflows.compare import COMPARE_FILES_STEPS, compare_files, curve_trials
from support import HUMAN_RAW, make_trials


def test_compare_files_writes_the_tables_with_their_provenance(tmp_path):
    steps: list[str] = []
    out = tmp_path / "results"
    result = compare_files(
        HUMAN_RAW / "edge", out, preset="model-vs-human", n_splits=10, progress=steps.append
    )
    assert steps == list(COMPARE_FILES_STEPS)
    assert result.out == out
    assert set(result.tables) == {"accuracy", "error_consistency", "benchmark"}
    assert result.files == [out / f"{name}.csv" for name in result.tables]

    files = find_trial_files(HUMAN_RAW / "edge")
    trials = read_trials(files, paired=True, categories=MODEL_VS_HUMAN_CATEGORIES)
    pd.testing.assert_frame_equal(result.trials, trials)
    expected = comparison_tables(trials, preset="model-vs-human", n_splits=10)
    for name, table in expected.items():
        assert (out / f"{name}.csv").read_text() == table.to_csv(index=False), name
        sidecar = json.loads((out / f"{name}.json").read_text())
        assert sidecar["parameters"] == {
            "preset": "model-vs-human",
            "n_boot": 0,
            "n_splits": 10,
            "seed": 0,
            "columns": None,
            "response_column": None,
            "cue_conflict": [],
            "read_notes": [],
        }
        assert {Path(entry["path"]).name: entry["sha256"] for entry in sidecar["inputs"]} == {
            path.name: file_sha256(path) for path in files
        }


def test_compare_files_refuses_bad_trials_and_writes_nothing(tmp_path):
    broken = tmp_path / "edge_subject-01_session_1.csv"
    lines = (HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv").read_text().splitlines()
    lines[4] = lines[4].replace("subject-01,1,", "subject-01,x,", 1)
    broken.write_text("\n".join(lines) + "\n")
    steps: list[str] = []
    with pytest.raises(TrialDataError, match="row 5: column 'session' has 'x'"):
        compare_files(broken, tmp_path / "results", progress=steps.append)
    assert steps == [COMPARE_FILES_STEPS[0]]
    assert not (tmp_path / "results").exists()


def test_compare_files_refuses_an_unknown_preset(tmp_path):
    with pytest.raises(PsychoalignError, match="preset: 'brainscore' is not one of"):
        compare_files(HUMAN_RAW / "edge", tmp_path / "results", preset="brainscore")
    assert not (tmp_path / "results").exists()


def test_curve_trials_pool_experiments_and_keep_each_model_run_apart():
    humans = make_trials([("h1", "human", "i1", "cat", "cat")], experiment="noise")
    on_noise = make_trials([("net", "model", "i1", "cat", "dog")], experiment="noise")
    on_other = make_trials([("net", "model", "j1", "cat", "cat")], experiment="edge-noise")
    elsewhere = make_trials([("net", "model", "k1", "cat", "cat")], experiment="edge")
    trials = pd.concat([humans, on_noise, on_other, elsewhere], ignore_index=True)

    pooled = curve_trials(trials, {"noise": ["noise", "edge-noise"]})
    assert set(pooled["experiment"]) == {"noise"}
    assert pooled["observer"].tolist() == ["h1", "net", "net (edge-noise)"]
    assert curve_trials(trials, {}).empty


def test_the_old_pipeline_path_warns_and_gives_the_same_objects():
    import importlib

    import psychoalign.pipeline as old

    homes = {
        "compare_humans_and_models": "psychoalign.workflows.compare",
        "curve_trials": "psychoalign.workflows.compare",
        "PipelineResult": "psychoalign.workflows.compare",
        "metamer_recognisability_analysis": "psychoalign.workflows.metamers",
    }
    for name, home in homes.items():
        with pytest.warns(DeprecationWarning, match=f"{home}.{name}"):
            assert getattr(old, name) is getattr(importlib.import_module(home), name)
