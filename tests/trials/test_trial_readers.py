"""read_trials per format, on the bundled model-vs-human files; errors name file, row, column."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from psychoalign.trials import (
    TRIAL_COLUMNS,
    TrialDataError,
    find_trial_files,
    image_id,
    read_trials,
)
from support import HUMAN_RAW, make_trials, raw_rows

EDGE_FILE = HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv"
NOISE_FILE = HUMAN_RAW / "uniform-noise" / "uniform-noise_subject-01_session_1.csv"


# --- model-vs-human raw files ----------------------------------------------------------


def test_model_vs_human_file_is_read_row_for_row():
    trials = read_trials(NOISE_FILE)
    raw = raw_rows(NOISE_FILE)
    assert list(trials.columns) == list(TRIAL_COLUMNS)
    assert len(trials) == len(raw) == 1280
    first = trials.iloc[0]
    assert first.experiment == "uniform-noise"
    assert first.observer == "subject-01" and first.observer_kind == "human"
    assert first.stimulus == "0001_nse_s01_0.03_elephant_10_n02504458_7209.png"
    assert first.image == "n02504458_7209.png"
    assert first.condition == "0.03"
    assert (first.category, first.response, first.correct) == ("elephant", "oven", False)
    assert first.rt == float(raw[0]["rt"])
    assert trials.condition.tolist() == [row["condition"] for row in raw]


def test_condition_labels_stay_text_exactly_as_written():
    trials = read_trials(NOISE_FILE)
    assert sorted(trials.condition.unique()) == [
        "0.00",
        "0.03",
        "0.05",
        "0.10",
        "0.20",
        "0.35",
        "0.60",
        "0.90",
    ]
    colour = read_trials(HUMAN_RAW / "false-colour" / "false-colour_subject-01_session_1.csv")
    assert set(colour.condition) == {"true", "false"}


def test_no_answer_is_na_and_wrong():
    trials = read_trials(HUMAN_RAW / "colour" / "colour_subject-01_session_1.csv")
    missed = trials[trials.response == "na"]
    assert len(missed) > 0
    assert not missed.correct.any()
    assert missed.rt.isna().all()


@pytest.mark.parametrize(
    ("imagename", "expected"),
    [
        ("0001_nse_s01_0.03_elephant_10_n02504458_7209.png", "n02504458_7209.png"),
        ("0001_edg_s01_0_oven_00_oven10.png", "oven10.png"),
        ("0001_s5n_s01_0_bird_00_bird3-bird2.png", "bird3-bird2.png"),
        ("0001_ske_s01_0_boat_00_boat-0068-sketch-23.png", "boat-0068-sketch-23.png"),
        ("oven10.png", "oven10.png"),
        ("n02504458_7209.png", "n02504458_7209.png"),
    ],
)
def test_image_id_is_the_tail_of_imagename(imagename, expected):
    assert image_id(imagename) == expected


def _model_file(
    folder: Path, dataset: str, model: str, human_file: Path, condition: str | None
) -> Path:
    """A model-vs-human model file answering the first category for every image."""
    rows = raw_rows(human_file)
    lines = ["subj,session,trial,rt,object_response,category,condition,imagename"]
    for number, row in enumerate(rows, start=1):
        written = row["condition"] if condition is None else condition
        lines.append(
            f"{model},1,{number},NaN,airplane,{row['category']},{written},{image_id(row['imagename'])}"
        )
    path = folder / f"{dataset}_{model}_session_1.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_model_files_with_empty_condition_join_the_humans(tmp_path):
    model = _model_file(tmp_path, "edge", "resnet50", EDGE_FILE, condition="")
    trials = read_trials([EDGE_FILE, model], paired=True)
    models = trials[trials.observer == "resnet50"]
    assert models.observer_kind.unique().tolist() == ["model"]
    assert models.experiment.unique().tolist() == ["edge"]
    assert models.condition.unique().tolist() == ["0"]
    assert models.rt.isna().all()
    assert set(models.image) == set(trials[trials.observer == "subject-01"].image)


def test_partly_empty_condition_is_refused(tmp_path):
    model = _model_file(tmp_path, "edge", "resnet50", EDGE_FILE, condition="")
    text = model.read_text().splitlines()
    text[3] = text[3].replace(",,", ",0,")
    model.write_text("\n".join(text) + "\n")
    with pytest.raises(
        TrialDataError, match=r"resnet50_session_1\.csv: row 2: column 'condition' is missing"
    ):
        read_trials(model)


def test_dataset_prefix_comes_from_the_file_name(tmp_path):
    odd = tmp_path / "something.csv"
    shutil.copy(EDGE_FILE, odd)
    with pytest.raises(TrialDataError, match=r"something\.csv: cannot tell the experiment"):
        read_trials(odd)
    assert read_trials(odd, experiment="edge").experiment.unique().tolist() == ["edge"]


# --- bad files: one sentence naming file, row and column ----------------------------------


def _edited(tmp_path: Path, source: Path, edit) -> Path:
    lines = source.read_text().splitlines()
    edit(lines)
    path = tmp_path / source.name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_missing_column_is_named(tmp_path):
    def drop_rt(lines):
        for i, line in enumerate(lines):
            fields = line.split(",")
            lines[i] = ",".join(fields[:3] + fields[4:])

    path = _edited(tmp_path, EDGE_FILE, drop_rt)
    with pytest.raises(
        TrialDataError, match=r"edge_subject-01_session_1\.csv: column 'rt' is missing"
    ):
        read_trials(path)


def test_unknown_observer_kind_is_named(tmp_path):
    table = make_trials([("a", "person", "x.png", "cat", "cat")])
    path = tmp_path / "own.csv"
    table.to_csv(path, index=False)
    with pytest.raises(
        TrialDataError,
        match=r"own\.csv: row 2: column 'observer_kind' has 'person', which is not 'human' or",
    ):
        read_trials(path)


def test_duplicate_trial_names_both_rows(tmp_path):
    def repeat_trial(lines):
        lines[5] = lines[5].replace(",5,", ",4,", 1)

    path = _edited(tmp_path, EDGE_FILE, repeat_trial)
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    message = str(error.value)
    assert "row 6: column 'trial' repeats trial 4 of observer 'subject-01'" in message
    assert "first seen at" in message and "row 5" in message


def test_duplicate_trial_across_files_names_both_files(tmp_path):
    copy = tmp_path / "copy" / EDGE_FILE.name
    copy.parent.mkdir()
    shutil.copy(EDGE_FILE, copy)
    with pytest.raises(
        TrialDataError, match=r"copy/edge_subject-01_session_1\.csv: row 2: column 'trial' repeats"
    ):
        read_trials([EDGE_FILE, copy])


def test_category_outside_the_task_is_named(tmp_path):
    def zebra(lines):
        lines[2] = lines[2].replace(",airplane,", ",zebra,")

    path = _edited(tmp_path, EDGE_FILE, zebra)
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    assert "row 3: column 'category' has 'zebra', which is not one of the 16 categories" in str(
        error.value
    )


def test_response_outside_the_task_is_named(tmp_path):
    def unicorn(lines):
        fields = lines[9].split(",")
        fields[4] = "unicorn"
        lines[9] = ",".join(fields)

    path = _edited(tmp_path, EDGE_FILE, unicorn)
    with pytest.raises(TrialDataError, match=r"row 10: column 'response' has 'unicorn'.*nor 'na'"):
        read_trials(path)


def test_mixed_images_between_paired_observers_are_named(tmp_path):
    second = HUMAN_RAW / "edge" / "edge_subject-02_session_1.csv"

    def swap_image(lines):
        lines[7] = lines[7].rsplit("_", 1)[0] + "_knife99.png"

    path = _edited(tmp_path, second, swap_image)
    with pytest.raises(TrialDataError) as error:
        read_trials([EDGE_FILE, path], paired=True)
    message = str(error.value)
    assert "edge_subject-02_session_1.csv: row 8: column 'image' has 'knife99.png'" in message
    assert "observer 'subject-01'" in message and "condition '0' of experiment 'edge'" in message
    # Unpaired designs (each subject its own images) are read without complaint.
    assert len(read_trials([EDGE_FILE, path])) == 320


def test_not_a_number_is_named(tmp_path):
    def bad_session(lines):
        fields = lines[2].split(",")
        fields[1] = "one"
        lines[2] = ",".join(fields)

    path = _edited(tmp_path, EDGE_FILE, bad_session)
    with pytest.raises(
        TrialDataError, match=r"row 3: column 'session' has 'one', not a whole number"
    ):
        read_trials(path)


def test_unreadable_file_is_named(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(TrialDataError, match=r"binary\.csv: cannot be read as a CSV trial file"):
        read_trials(path)


def test_nothing_found_is_named(tmp_path):
    with pytest.raises(TrialDataError, match=r"no trial files"):
        read_trials(tmp_path / "missing")
    assert find_trial_files(str(HUMAN_RAW / "edge" / "*_subject-0[12]_*.csv"))[0].name == (
        "edge_subject-01_session_1.csv"
    )


# --- psychoalign and PsychoPy CSVs --------------------------------------------------------


def test_psychopy_csv_with_bom_and_trailing_delimiter(tmp_path):
    header = (
        "trial,stimulus,image,condition,category,response,correct,rt,"
        "participant,session,expName,psychopyVersion,frameRate,key_resp.rt,"
    )
    lines = [
        header,
        "1,noise/0.10/cat1.png,cat1.png,0.10,cat,cat,True,0.61234,07,001,noise-degraded,2026.2.5,60.0,0.61234,",
        "2,noise/0.35/dog4.png,dog4.png,0.35,dog,na,False,,07,001,noise-degraded,2026.2.5,60.0,,",
    ]
    path = tmp_path / "07_noise_2026-11-23.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode())
    trials = read_trials(path)
    assert list(trials.columns[: len(TRIAL_COLUMNS)]) == list(TRIAL_COLUMNS)
    assert trials.observer.tolist() == ["07", "07"]
    assert trials.observer_kind.tolist() == ["human", "human"]
    assert trials.experiment.tolist() == ["noise-degraded", "noise-degraded"]
    assert trials.session.tolist() == [1, 1]
    assert trials.condition.tolist() == ["0.10", "0.35"]
    assert trials.rt.iloc[0] == 0.61234 and math.isnan(trials.rt.iloc[1])
    assert "key_resp_rt" in trials.columns and "psychopy_version" in trials.columns
    assert not any(c.startswith("unnamed") for c in trials.columns)


def test_csv_of_no_known_format_names_the_missing_column_and_the_other_formats(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("observer,answer\na,cat\n")
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    assert str(error.value) == (
        f"{path}: columns 'image', 'condition', 'category' and 'response' are missing; a "
        "trial file needs the columns observer, image, condition, category, response (and "
        "may give experiment, observer_kind, session, trial, stimulus, correct, rt; or is "
        "a model-vs-human file with subj, "
        "object_response, imagename, ... or a geirhos-2018-cnn file with subj, object_response, "
        "imagename, object_response_sums, prob_correct_16, ... or a psychopy-builder file "
        "with participant, date, exp_name, psychopy_version, frame_rate, ...)."
    )


def test_experiment_overrides_the_name_in_own_files(tmp_path):
    table = make_trials([("a", "human", "x.png", "cat", "cat")])
    for suffix in (".csv", ".parquet"):
        path = tmp_path / f"own{suffix}"
        if suffix == ".csv":
            table.to_csv(path, index=False)
        else:
            table.to_parquet(path, index=False)
        assert read_trials(path).experiment.tolist() == ["toy"]
        assert read_trials(path, experiment="renamed").experiment.tolist() == ["renamed"]


def test_broken_parquet_is_named(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(TrialDataError, match=r"broken\.parquet: cannot be read as Parquet"):
        read_trials(path)


def test_folder_search_skips_probabilities_practice_and_hidden_files(tmp_path):
    shutil.copy(EDGE_FILE, tmp_path / EDGE_FILE.name)
    for skipped in ("resnet50_probabilities.csv", "s01_practice.csv", ".hidden/x.csv"):
        (tmp_path / skipped).parent.mkdir(exist_ok=True)
        (tmp_path / skipped).write_text("not,a,trial,file\n")
    (tmp_path / "notes.txt").write_text("not a trial file\n")
    assert find_trial_files(tmp_path) == [tmp_path / EDGE_FILE.name]
    with pytest.raises(TrialDataError, match=r"no trial files \(\*\.csv, \*\.parquet\) found"):
        find_trial_files(tmp_path / ".hidden" / "nothing")


def test_model_vs_human_header_with_capital_session():
    # The contrast files write "Session"; column names are read in snake_case.
    path = HUMAN_RAW / "contrast" / "contrast_subject-01_session_1.csv"
    assert path.read_text().startswith("subj,Session,")
    trials = read_trials(path)
    assert trials.session.unique().tolist() == [1]
    assert trials.experiment.unique().tolist() == ["contrast"]
    assert len(trials) == len(raw_rows(path))
