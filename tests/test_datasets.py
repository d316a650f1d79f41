from __future__ import annotations

import pytest

from psychoalign.datasets import MODEL_VS_HUMAN_DATASETS, data_dir, load_model_vs_human
from psychoalign.trials import TrialDataError


def test_all_bundled_human_data_load_in_one_call(model_vs_human_trials):
    trials = model_vs_human_trials
    assert len(trials) == 85_120
    assert trials.experiment.nunique() == 17
    assert trials.groupby(["experiment", "observer", "session"]).ngroups == 90
    assert (trials.observer_kind == "human").all()
    assert set(trials.experiment) == set(MODEL_VS_HUMAN_DATASETS)


def test_one_dataset_by_name():
    assert load_model_vs_human("silhouette").observer.nunique() == 10


def test_unknown_dataset_is_named():
    with pytest.raises(TrialDataError, match=r"'edges' is not a model-vs-human dataset"):
        load_model_vs_human("edges")


def test_licence_is_bundled_with_the_data():
    assert "MIT License" in (data_dir() / "model-vs-human" / "LICENSE").read_text()


def test_data_dir_can_be_moved(tmp_path, monkeypatch):
    monkeypatch.setenv("PSYCHOALIGN_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"PSYCHOALIGN_DATA_DIR"):
        data_dir()
