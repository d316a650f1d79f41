"""Minimal tidy trial files: defaulted columns, and the task checks of psychoalign's CSVs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.trials import TrialDataError, read_trials

EXAMPLE = Path(__file__).parents[2] / "examples" / "tidy-trials.csv"
HEADER = "observer,image,condition,category,response"


def _tidy(folder: Path, *rows: str, name: str = "faces.csv") -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_a_minimal_tidy_file_is_read_with_its_defaults_noted(tmp_path):
    path = _tidy(
        tmp_path,
        "s1,a.png,0,cat,cat",
        "s2,a.png,0,cat,dog",
        "s1,b.png,0,dog,na",
        "s2,b.png,0,dog,dog",
    )
    trials = read_trials(path)
    assert trials.experiment.unique().tolist() == ["faces"]
    assert trials.observer_kind.unique().tolist() == ["human"]
    assert trials.session.tolist() == [1, 1, 1, 1]
    assert trials.trial.tolist() == [1, 1, 2, 2]
    assert trials.stimulus.tolist() == trials.image.tolist()
    assert trials.correct.tolist() == [True, False, False, True]
    assert all(math.isnan(rt) for rt in trials.rt)
    assert trials.attrs["read_notes"] == [
        f"{path}: has no columns 'experiment', 'observer_kind', 'session', 'trial', "
        "'stimulus', 'correct' and 'rt'; read with experiment 'faces' (the file's name), "
        "observer_kind 'human', session 1, trial numbered in file order within each "
        "observer and session, stimulus = image, correct = (response == category), rt NaN "
        "(no response times)."
    ]


def test_one_file_per_observer_takes_the_experiment_from_its_folder(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    for observer in ("s1", "s2"):
        _tidy(folder, f"{observer},a.png,0,cat,cat", name=f"sub-{observer}.csv")
    assert read_trials(folder).experiment.unique().tolist() == ["faces"]


def test_every_missing_required_column_is_named_at_once(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("observer,condition,category\ns1,0,cat\n")
    with pytest.raises(TrialDataError, match=r"short\.csv: columns 'image' and 'response' are"):
        read_trials(path)


def test_a_response_outside_the_categories_is_refused_naming_file_row_and_column(tmp_path):
    path = _tidy(tmp_path, "s1,a.png,0,cat,cat", "s1,b.png,0,dog,giraffe")
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    assert str(error.value) == (
        f"{path}: row 3: column 'response' has 'giraffe', which is none of the 2 categories "
        "of experiment 'faces' (its 'category' column: cat, dog) nor 'na' (no answer)."
    )


def test_the_categories_are_those_of_every_file_of_the_experiment(tmp_path):
    first = _tidy(tmp_path, "s1,a.png,0,cat,dog", name="one.csv")
    second = _tidy(tmp_path, "s2,b.png,0,dog,dog", name="two.csv")
    trials = read_trials([first, second], experiment="faces")
    assert trials.response.tolist() == ["dog", "dog"]


def test_an_image_seen_twice_is_refused_naming_both_rows(tmp_path):
    path = _tidy(tmp_path, "s1,a.png,0,cat,cat", "s1,b.png,0,dog,dog", "s1,a.png,0,cat,dog")
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    assert str(error.value) == (
        f"{path}: row 4: column 'image' repeats image 'a.png' of observer 's1' (condition "
        f"'0', session 1, experiment 'faces') first seen at {path}: row 2; an observer sees "
        "each image once per condition and session (give a repeat its own session)."
    )
    # The same image in another condition is another trial.
    path.write_text(path.read_text().replace("s1,a.png,0,cat,dog", "s1,a.png,1,cat,dog"))
    assert len(read_trials(path)) == 3


def test_compare_reads_the_example_file_and_records_its_defaults(tmp_path):
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["compare", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "note:" in result.output
    sidecar = json.loads((out / "accuracy.json").read_text())
    [note] = sidecar["parameters"]["read_notes"]
    assert "experiment 'tidy-trials' (the file's name)" in note
    assert "correct = (response == category)" in note and "rt NaN" in note


def test_lab_session_files_are_not_checked_against_their_category_column(tmp_path):
    # A short lab session need not show every category its response screen offers.
    path = tmp_path / "sub-01_ses-1.csv"
    path.write_text(f"{HEADER},response_raw\ns1,a.png,0,cat,dog,f\ns1,a.png,0,cat,cat,j\n")
    assert read_trials(path).response.tolist() == ["dog", "cat"]
