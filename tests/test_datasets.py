from __future__ import annotations

from pathlib import Path

import pytest

from psychoalign import datasets
from psychoalign.datasets import MODEL_VS_HUMAN_DATASETS, data_dir, load_model_vs_human
from psychoalign.errors import MissingFileError, TrialDataError


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
    with pytest.raises(MissingFileError, match=r"PSYCHOALIGN_DATA_DIR"):
        data_dir()
    (tmp_path / "model-vs-human").mkdir()
    assert data_dir() == tmp_path


def _data_folder(path):
    (path / "model-vs-human").mkdir(parents=True)
    return path


def test_installed_data_come_before_a_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("PSYCHOALIGN_DATA_DIR", raising=False)
    installed = _data_folder(tmp_path / "site-packages" / "psychoalign" / "_data")
    checkout = _data_folder(tmp_path / "checkout" / "data")
    monkeypatch.setattr(datasets, "_INSTALLED_DATA", installed)
    monkeypatch.setattr(datasets, "_CHECKOUT_DATA", checkout)
    assert data_dir() == installed
    monkeypatch.setattr(datasets, "_INSTALLED_DATA", tmp_path / "no-such-folder")
    assert data_dir() == checkout


def test_no_data_anywhere_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("PSYCHOALIGN_DATA_DIR", raising=False)
    monkeypatch.setattr(datasets, "_INSTALLED_DATA", tmp_path / "installed")
    monkeypatch.setattr(datasets, "_CHECKOUT_DATA", tmp_path / "checkout")
    with pytest.raises(MissingFileError, match=r"neither installed .* nor in a checkout"):
        data_dir()


def test_this_checkout_reads_its_own_data_folder(monkeypatch):
    """The editable install of the test suite: data/ at the root, never a copy."""
    monkeypatch.delenv("PSYCHOALIGN_DATA_DIR", raising=False)
    assert data_dir() == Path(__file__).resolve().parents[1] / "data"
