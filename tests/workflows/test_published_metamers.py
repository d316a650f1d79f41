"""Feather et al. (2023)'s published recognisability matrices: reading, tables, ANOVAs."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.io import loadmat, savemat

from psychoalign.errors import MissingFileError, ParameterError, TrialDataError
from psychoalign.workflows.published_metamers import (
    published_recognisability,
    read_recognisability_matrices,
)
from support import SHARED_DATA

EXP1 = SHARED_DATA / "model-metamers" / "EXP1"
MODELS = ["alexnet", "cornet_s", "resnet101", "resnet50", "vgg_19"]
LAYERS = {"alexnet": 9, "cornet_s": 6, "resnet101": 8, "resnet50": 8, "vgg_19": 10}
PERMUTATIONS = 199


def _file(model: str) -> object:
    return EXP1 / f"VisionExperiment1_network_vs_humans_datamatrix_{model}_public.mat"


def _raw(model: str) -> dict:
    """A published file read with scipy alone: matrix and stripped layer names."""
    contents = loadmat(_file(model))
    layers = [str(layer).strip() for layer in contents["model_layers"]]
    return {"matrix": contents["participant_data_matrix"], "layers": layers}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "results"
    result = published_recognisability(
        [_file(model) for model in MODELS], out, n_permutations=PERMUTATIONS, progress=False
    )
    return result


def test_the_tidy_table_has_a_row_per_participant_layer_and_group():
    table = read_recognisability_matrices(EXP1)  # the folder stands for its five files
    assert list(table.columns) == [
        "experiment",
        "model",
        "layer",
        "layer_index",
        "observer_group",
        "participant",
        "accuracy",
    ]
    assert len(table) == 22 * 2 * sum(LAYERS.values())
    assert set(table.experiment) == {"EXP1"} and sorted(table.model.unique()) == MODELS
    assert table.groupby("model").layer.nunique().to_dict() == LAYERS
    assert set(table.observer_group) == {"human", "model"}
    assert table.groupby(["model", "observer_group"]).participant.nunique().eq(22).all()
    for model in MODELS:
        raw = _raw(model)
        part = table[table.model == model]
        for index, group in enumerate(("human", "model")):
            wide = part[part.observer_group == group].pivot(
                index="participant", columns="layer_index", values="accuracy"
            )
            np.testing.assert_array_equal(
                wide.loc[[str(i) for i in range(22)]].to_numpy(), raw["matrix"][:, :, index]
            )
        assert part.drop_duplicates("layer_index").layer.tolist() == raw["layers"]


def test_recognisability_is_the_mean_over_participants_with_a_t_interval(published):
    table = published.recognisability
    assert len(table) == 2 * sum(LAYERS.values())
    for model in MODELS:
        raw = _raw(model)
        for index, group in enumerate(("human", "model")):
            rows = table[(table.model == model) & (table.observer_group == group)]
            assert rows.layer.tolist() == raw["layers"]
            values = raw["matrix"][:, :, index]
            np.testing.assert_allclose(rows.accuracy, values.mean(axis=0), rtol=1e-12)
            low, high = scipy_stats.t.interval(
                0.95, 21, loc=values.mean(axis=0), scale=scipy_stats.sem(values, axis=0)
            )
            np.testing.assert_allclose(rows.ci_low, low, rtol=1e-10)
            np.testing.assert_allclose(rows.ci_high, high, rtol=1e-10)
            assert rows.n_participants.eq(22).all()
    assert published.notes == []  # every group of the published data varies


def test_humans_recognise_natural_images_but_not_late_layer_metamers(published):
    table = published.recognisability.set_index(["model", "layer", "observer_group"])
    for model in MODELS:
        natural = table.loc[(model, "natural_image", "human")]
        final = table.loc[(model, "final", "human")]
        assert natural.accuracy > 0.85 and natural.ci_low > 0.8
        assert final.accuracy < 0.15  # 1/16 = 0.0625 is chance
        assert table.loc[(model, "final", "model")].accuracy > 0.85


def test_one_mixed_anova_per_model_with_its_degrees_of_freedom(published):
    anova = published.anova
    assert list(anova.columns) == [
        "experiment",
        "model",
        "source",
        "df1",
        "df2",
        "F",
        "p",
        "p_permutation",
        "partial_eta_squared",
    ]
    assert len(anova) == 3 * len(MODELS)
    for model, rows in anova.groupby("model"):
        layers = LAYERS[model]
        assert rows.source.tolist() == ["observer_group", "layer", "observer_group:layer"]
        assert rows[["df1", "df2"]].values.tolist() == [
            [1, 42],
            [layers - 1, 42 * (layers - 1)],
            [layers - 1, 42 * (layers - 1)],
        ]
        # observer group: a one-way ANOVA on each observer's mean over layers
        matrix = _raw(model)["matrix"]
        one_way = scipy_stats.f_oneway(matrix[:, :, 0].mean(axis=1), matrix[:, :, 1].mean(axis=1))
        assert rows.F.iloc[0] == pytest.approx(one_way.statistic, rel=1e-8)
        # humans and models differ at every layer beyond the earliest: nothing permuted comes near
        assert rows.p_permutation.tolist() == [1 / (1 + PERMUTATIONS)] * 3
        assert (rows.partial_eta_squared > 0.8).all()


def test_the_csv_files_have_exactly_the_listed_columns_and_provenance(published):
    out = published.out
    recognisability = pd.read_csv(out / "recognisability.csv")
    assert list(recognisability.columns) == [
        "experiment",
        "model",
        "layer",
        "observer_group",
        "n_participants",
        "accuracy",
        "ci_low",
        "ci_high",
    ]
    assert list(pd.read_csv(out / "anova.csv").columns) == list(published.anova.columns)
    sidecar = json.loads((out / "anova.json").read_text())
    assert sidecar["parameters"] == {
        "n_permutations": PERMUTATIONS,
        "seed": 0,
        "confidence": 0.95,
    }
    assert sidecar["versions"]["pingouin"] and sidecar["notes"] == []
    expected = {
        str(_file(model)): hashlib.sha256(_file(model).read_bytes()).hexdigest() for model in MODELS
    }
    assert {entry["path"]: entry["sha256"] for entry in sidecar["inputs"]} == expected
    for suffix in ("png", "pdf", "svg", "csv", "json"):
        assert (out / f"recognisability_figure.{suffix}").stat().st_size > 0
    assert not [path.name for path in out.parent.iterdir() if path.name.startswith(".")]


def test_a_model_s_results_do_not_depend_on_other_files_and_others_are_left_alone(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    options = {"n_permutations": 50, "seed": 3, "progress": False}
    first = published_recognisability(_file("cornet_s"), out, **options).anova
    # the same seed, the same p-values, whatever other files are given
    both = published_recognisability(
        [_file("alexnet"), _file("cornet_s")], tmp_path / "both", **options
    ).anova
    pd.testing.assert_frame_equal(both[both.model == "cornet_s"].reset_index(drop=True), first)
    assert (out / "notes.txt").read_text() == "mine"


def _variant(tmp_path, name: str, **changes) -> object:
    """The published alexnet file with variables changed (None: removed), saved as ``name``."""
    contents = {k: v for k, v in loadmat(_file("alexnet")).items() if not k.startswith("__")}
    for key, value in changes.items():
        if value is None:
            contents.pop(key)
        else:
            contents[key] = value
    path = tmp_path / name
    savemat(path, contents)
    return path


NAME = "VisionExperiment1_network_vs_humans_datamatrix_alexnet_public.mat"


def test_unusable_files_are_refused_naming_the_file_and_the_variable(tmp_path):
    matrix = loadmat(_file("alexnet"))["participant_data_matrix"]
    text = tmp_path / "text" / NAME
    text.parent.mkdir()
    text.write_text("participant,accuracy\n")
    cases = [
        (text, "is not a MATLAB v5 .mat file"),
        (_variant(tmp_path, "a_" + NAME, model_layers=None), "has no variable 'model_layers'."),
        (
            _variant(tmp_path, "b_" + NAME, participant_data_matrix=None),
            "has no variable 'participant_data_matrix'.",
        ),
        (
            _variant(tmp_path, "c_" + NAME, participant_data_matrix=matrix[:, :5]),
            "variable 'participant_data_matrix' is float64 of shape (22, 5, 2), not numbers of "
            "shape (22 participants, 9 model_layers, 2 conditions).",
        ),
        (
            _variant(tmp_path, "d_" + NAME, conditions=np.array(["Human", "Monkey"])),
            "variable 'conditions' is Human, Monkey, not Human, Network.",
        ),
        (
            _variant(
                tmp_path,
                "e_" + NAME,
                participant_data_matrix=np.where(matrix > 0.99, np.nan, matrix),
            ),
            "variable 'participant_data_matrix' has nan for participant 0",
        ),
    ]
    for path, message in cases:
        with pytest.raises(TrialDataError) as refusal:
            read_recognisability_matrices(path)
        assert str(refusal.value).startswith(f"{path}: ") and message in str(refusal.value)
        assert str(refusal.value).count(". ") == 0  # one sentence
    renamed = tmp_path / "VisionExperiment1_alexnet.mat"
    shutil.copy(_file("alexnet"), renamed)
    with pytest.raises(TrialDataError, match=r"does not end in '_datamatrix_<model>_public.mat'"):
        read_recognisability_matrices(renamed)
    copy = tmp_path / "copy" / NAME
    copy.parent.mkdir()
    shutil.copy(_file("alexnet"), copy)
    with pytest.raises(ParameterError, match=r"both hold experiment EXP1, model 'alexnet'"):
        read_recognisability_matrices([_file("alexnet"), copy])
    with pytest.raises(MissingFileError, match=r"missing.mat: no such file"):
        read_recognisability_matrices(tmp_path / "missing.mat")


def test_a_refused_input_writes_nothing(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(TrialDataError):
        published_recognisability(
            [_file("cornet_s"), _variant(tmp_path, NAME, model_layers=None)],
            out,
            n_permutations=10,
            progress=False,
        )
    with pytest.raises(ParameterError, match=r"^n_permutations: 0 must be a whole number"):
        published_recognisability(_file("alexnet"), out, n_permutations=0, progress=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == [NAME]


def test_a_group_without_variation_gets_an_empty_interval_and_a_note(tmp_path):
    matrix = loadmat(_file("alexnet"))["participant_data_matrix"].copy()
    matrix[:, -1, 1] = 1.0  # the model right on every participant's final-layer metamers
    path = _variant(tmp_path, NAME, participant_data_matrix=matrix)
    result = published_recognisability(path, tmp_path / "out", n_permutations=20, progress=False)
    final = result.recognisability.query("layer == 'final' and observer_group == 'model'")
    assert final[["accuracy", "ci_low", "ci_high"]].values.tolist() == [[1.0, 1.0, 1.0]]
    note = "EXP1 alexnet final model: no variation over participants: the interval is the mean"
    assert result.notes == [note]
    assert json.loads((tmp_path / "out" / "recognisability.json").read_text())["notes"] == [note]
    assert result.recognisability.drop(final.index)[["ci_low", "ci_high"]].notna().all().all()


def test_a_file_of_one_participant_is_refused_before_anything_is_written(tmp_path):
    contents = loadmat(_file("alexnet"))
    path = _variant(
        tmp_path,
        NAME,
        participant_data_matrix=contents["participant_data_matrix"][:1],
        participants=contents["participants"][:1],
    )
    with pytest.raises(TrialDataError) as refusal:
        published_recognisability(path, tmp_path / "out", n_permutations=20, progress=False)
    assert str(refusal.value) == (
        f"{path}: variable 'participant_data_matrix' holds 1 participant; intervals over "
        "participants and the mixed ANOVA need at least 2."
    )
    assert not (tmp_path / "out").exists()
