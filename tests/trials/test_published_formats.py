"""The field's own files, read as published: model-vs-human models, Geirhos 2018, texture-vs-shape.

Every expected number is computed here from the raw CSVs with the standard library
(``support.raw_rows``), or taken from the papers.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from psychoalign.errors import TrialDataError
from psychoalign.metrics import cue_conflict_experiments, shape_bias
from psychoalign.trials import CNN_STATISTICS, read_trials
from support import HUMAN_RAW, SHARED_DATA, raw_rows

MODEL_RAW = SHARED_DATA / "model-vs-human" / "model-raw"
GENERALISATION = SHARED_DATA / "generalisation-humans-dnns"
TEXTURE_VS_SHAPE = SHARED_DATA / "texture-vs-shape" / "raw-data"
MODELS = {
    "bagnet33",
    "resnet50",
    "simclr_resnet50x1",
    "swag_regnety_128gf_in1k",
    "swag_regnety_16gf_in1k",
    "swag_regnety_32gf_in1k",
    "swag_vit_b16_in1k",
    "swag_vit_h14_in1k",
    "swag_vit_l16_in1k",
}


def _accuracies(files: list[Path], response: str = "object_response") -> dict[str, float]:
    """Proportion correct per ``subj``, from the raw rows."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in files:
        for row in raw_rows(path):
            counts[row["subj"]][0] += row[response] == row["category"]
            counts[row["subj"]][1] += 1
    return {subj: right / total for subj, (right, total) in counts.items()}


# --- model-vs-human's model files -----------------------------------------------------------


@pytest.mark.parametrize("dataset", ["edge", "colour"])
def test_model_files_are_read_as_published(dataset):
    trials = read_trials([HUMAN_RAW / dataset, MODEL_RAW / dataset], paired=True)
    models = trials[trials.observer_kind == "model"]
    assert set(models.observer) == MODELS  # the subj column, not the hyphenated file name
    assert trials.experiment.unique().tolist() == [dataset]
    humans = trials[trials.observer_kind == "human"]
    assert set(models.condition) == set(humans.condition)
    expected = _accuracies(sorted((MODEL_RAW / dataset).glob("*.csv")))
    measured = models.groupby("observer").correct.mean().to_dict()
    assert measured == pytest.approx(expected, abs=1e-12)


def test_nan_conditions_join_the_humans_zero_and_are_noted():
    trials = read_trials([HUMAN_RAW / "edge", MODEL_RAW / "edge"])
    assert trials.condition.unique().tolist() == ["0"]
    notes = trials.attrs["read_notes"]
    assert len(notes) == 9
    assert all("column 'condition' is 'NaN' in every row" in note for note in notes)
    assert notes[0].startswith(str(MODEL_RAW / "edge" / "edge_bagnet33_session-1.csv"))


def test_a_file_in_another_experiments_folder_is_refused(tmp_path):
    folder = tmp_path / "colour"
    folder.mkdir()
    shutil.copy(MODEL_RAW / "edge" / "edge_resnet50_session-1.csv", folder)
    with pytest.raises(TrialDataError) as error:
        read_trials(folder)
    assert str(error.value) == (
        f"{folder / 'edge_resnet50_session-1.csv'}: the file name says experiment 'edge' but "
        "its folder is that of experiment 'colour'; rename one, or pass experiment=..."
    )


def test_the_folder_names_the_experiment_of_a_renamed_file(tmp_path):
    folder = tmp_path / "edge"
    folder.mkdir()
    shutil.copy(MODEL_RAW / "edge" / "edge_resnet50_session-1.csv", folder / "resnet.csv")
    assert read_trials(folder).experiment.unique().tolist() == ["edge"]


def test_a_file_name_naming_another_observer_is_refused(tmp_path):
    path = tmp_path / "edge_alexnet_session-1.csv"
    shutil.copy(MODEL_RAW / "edge" / "edge_resnet50_session-1.csv", path)
    with pytest.raises(TrialDataError, match=r"does not name the observer of its 'subj' column"):
        read_trials(path)


# --- Geirhos et al. 2018 --------------------------------------------------------------------


def test_a_session_in_the_file_name_that_differs_is_accepted_and_noted():
    folder = GENERALISATION / "human-raw" / "colour-experiment"
    trials = read_trials(folder)
    odd = trials[trials.observer == "subject-03"]
    assert odd.session.unique().tolist() == [3]
    assert trials.attrs["read_notes"] == [
        f"{folder / 'colour-experiment_subject-03_session_1.csv'}: the file name says session 1 "
        "but its session column says 3; the column's session is used."
    ]
    assert trials.experiment.unique().tolist() == ["colour-experiment"]


def test_every_2018_human_file_is_read():
    files = sorted((GENERALISATION / "human-raw").rglob("*.csv"))
    trials = read_trials(GENERALISATION / "human-raw")
    assert len(files) == 67
    assert len(trials) == sum(len(raw_rows(path)) for path in files) == 82880
    assert trials.experiment.nunique() == 11


def test_the_2018_cnn_files_keep_their_statistics_and_both_decisions():
    folder = GENERALISATION / "cnn-raw" / "noise-experiment"
    files = sorted(folder.glob("*.csv"))
    trials = read_trials(folder)
    assert set(trials.observer) == {"googlenet", "resnet152", "vgg19"}
    assert set(trials.observer_kind) == {"model"}
    assert trials.session.max() == 7 and len(trials) == 3 * 7 * 1280
    for column in CNN_STATISTICS:
        assert trials[column].dtype.kind in "fi", column
    by_mean = trials.groupby("observer").correct.mean().to_dict()
    assert by_mean == pytest.approx(_accuracies(files), abs=1e-12)
    summed = read_trials(folder, response_column="object_response_sums")
    by_sum = summed.groupby("observer").correct.mean().to_dict()
    assert by_sum == pytest.approx(_accuracies(files, "object_response_sums"), abs=1e-12)
    assert by_sum != pytest.approx(by_mean, abs=1e-3)
    first = raw_rows(files[0])[0]
    assert summed.response.iloc[0] == first["object_response_sums"]


def test_a_response_column_missing_from_a_file_is_named():
    path = HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv"
    with pytest.raises(TrialDataError) as error:
        read_trials(path, response_column="object_response_sums")
    message = str(error.value)
    assert message.startswith(
        f"{path}: --response-column 'object_response_sums' is not a column of any file read"
    )


# --- texture-vs-shape (Geirhos et al. 2019) -------------------------------------------------


def test_texture_vs_shape_reproduces_the_published_shape_biases():
    trials = read_trials(TEXTURE_VS_SHAPE)
    experiment = "style-transfer-512-nomask-experiment"
    assert cue_conflict_experiments(trials) == [experiment]
    bias = shape_bias(trials).set_index("observer").shape_bias
    # Geirhos et al. 2019, Figure 4: AlexNet 42.9 %, GoogLeNet 31.2 %, VGG-16 17.2 %.
    assert round(bias["alexnet"] * 100, 1) == 42.9
    assert round(bias["googlenet"] * 100, 1) == 31.2
    assert round(bias["vgg"] * 100, 1) == 17.2
    humans = bias[bias.index.str.startswith("subject-")]
    assert len(humans) == 10 and round(humans.mean(), 2) == 0.96
    # Each human's bias from the raw rows: shape / (shape + texture), shape != texture.
    for path in sorted(TEXTURE_VS_SHAPE.rglob("*subject-*.csv")):
        shape = texture = 0
        for row in raw_rows(path):
            name = row["imagename"].rsplit("_", 1)[1][: -len(".png")]
            shape_name, texture_name = (part.rstrip("0123456789") for part in name.split("-"))
            if shape_name != texture_name:
                shape += row["object_response"] == shape_name
                texture += row["object_response"] == texture_name
        assert bias[raw_rows(path)[0]["subj"]] == pytest.approx(shape / (shape + texture))


def test_an_observer_is_recognised_however_the_file_name_spells_it(tmp_path):
    # model-vs-human writes e.g. resnet50_trained_on_SIN as resnet50-trained-on-SIN.
    source = raw_rows(MODEL_RAW / "edge" / "edge_resnet50_session-1.csv")
    lines = [",".join(source[0])]
    lines += [",".join({**row, "subj": "resnet50_trained_on_SIN"}.values()) for row in source]
    path = tmp_path / "edge_Resnet50-Trained-On-SIN_session-1.csv"
    path.write_text("\n".join(lines) + "\n")
    trials = read_trials(path)
    assert trials.observer.unique().tolist() == ["resnet50_trained_on_SIN"]
    assert trials.experiment.unique().tolist() == ["edge"]
