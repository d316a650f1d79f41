"""The reader registry: formats recognised by suffix and header, one sentence for the rest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from psychoalign.errors import ParameterError
from psychoalign.trials import (
    MODEL_VS_HUMAN_CATEGORIES,
    TRIAL_COLUMNS,
    TrialDataError,
    TrialReader,
    find_trial_files,
    image_id,
    read_trials,
    register_reader,
    trial_readers,
)
from psychoalign.trials.readers import registry
from psychoalign.trials.readers._cells import parse_numbers
from psychoalign.trials.readers.registry import ReadContext
from support import HUMAN_RAW, raw_rows

EDGE_FILE = HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv"

# A lab's own export of the same trials: tab-separated, its own column names.
_EXPORT_COLUMNS = ("participant_id", "trial_number", "image_file", "true_class", "chosen", "rt_s")


@pytest.fixture
def restored_registry(monkeypatch):
    """Readers registered by a test are gone after it."""
    monkeypatch.setattr(registry, "_READERS", list(registry._READERS))


def _load_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _from_export(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "experiment": context.experiment or path.stem.split("_")[0],
            "observer": raw["participant_id"],
            "observer_kind": "human",
            "session": 1,
            "trial": parse_numbers(raw, "trial_number", whole=True),
            "stimulus": raw["image_file"],
            "image": raw["image_file"],
            "condition": "0",
            "category": raw["true_class"],
            "response": raw["chosen"],
            "rt": parse_numbers(raw, "rt_s", whole=False),
        }
    )
    frame["correct"] = frame["response"] == frame["category"]
    return frame.assign(_source=raw["_source"], _row=raw["_row"])


EXPORT_READER = TrialReader(
    name="lab-export",
    suffixes=(".tsv",),
    columns=_EXPORT_COLUMNS,
    read=_from_export,
    load=_load_tsv,
    categories=MODEL_VS_HUMAN_CATEGORIES,
)


def _export(folder: Path, rows: int = 6) -> Path:
    """The first ``rows`` trials of a real model-vs-human file, as the lab would export them."""
    lines = ["\t".join(_EXPORT_COLUMNS)]
    for row in raw_rows(EDGE_FILE)[:rows]:
        image = image_id(row["imagename"])
        fields = (row["subj"], row["trial"], image, row["category"], row["object_response"])
        lines.append("\t".join((*fields, row["rt"])))
    path = folder / "edge_export.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_built_in_formats_are_registered():
    readers = {reader.name: reader for reader in trial_readers()}
    assert list(readers)[:5] == [
        "psychoalign-csv",
        "psychoalign-parquet",
        "model-vs-human",
        "geirhos-2018-cnn",
        "psychopy-builder",
    ]
    assert readers["model-vs-human"].columns == ("subj", "object_response", "imagename")
    assert readers["model-vs-human"].categories == MODEL_VS_HUMAN_CATEGORIES
    assert readers["psychoalign-csv"].columns == ()  # the fallback for any other CSV


def test_a_registered_reader_recognises_and_reads_its_files(tmp_path, restored_registry):
    path = _export(tmp_path)
    assert register_reader(EXPORT_READER) is EXPORT_READER
    assert trial_readers()[-1] is EXPORT_READER
    assert find_trial_files(tmp_path) == [path]  # folders are searched for its suffix too
    trials = read_trials(tmp_path)
    expected = read_trials(EDGE_FILE).head(6)
    for column in ("experiment", "observer", "trial", "image", "category", "response", "rt"):
        assert trials[column].tolist() == expected[column].tolist(), column
    assert trials.correct.tolist() == expected.correct.tolist()
    # Its categories are the default, as for model-vs-human files: a stray class is named.
    lines = path.read_text().splitlines()
    fields = lines[2].split("\t")
    lines[2] = "\t".join([*fields[:3], "zebra", *fields[4:]])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrialDataError, match=r"edge_export\.tsv: row 3: column 'category'"):
        read_trials(path)


def test_a_bad_cell_in_a_registered_format_is_named(tmp_path, restored_registry):
    register_reader(EXPORT_READER)
    path = _export(tmp_path)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split("\t")[1], "third", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        TrialDataError,
        match=r"edge_export\.tsv: row 4: column 'trial_number' has 'third', not a whole number",
    ):
        read_trials(path)


def test_the_reader_naming_most_columns_wins_over_the_fallback(tmp_path, restored_registry):
    path = _export(tmp_path).rename(tmp_path / "edge_export.csv")
    path.write_text(path.read_text().replace("\t", ","))
    with pytest.raises(TrialDataError, match=r"columns 'observer', 'image', .* are missing"):
        read_trials(path)  # only the psychoalign fallback reads it, and refuses
    register_reader(TrialReader("lab-export-csv", (".csv",), _EXPORT_COLUMNS, _from_export))
    assert read_trials(path).observer.unique().tolist() == ["subject-01"]
    # Model-vs-human files are still read by their own reader.
    assert read_trials(EDGE_FILE).experiment.unique().tolist() == ["edge"]


def test_an_unknown_format_is_one_sentence_naming_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("subj,session\n")
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    assert str(error.value) == (
        f"{path}: no trial reader reads '.txt' files (registered: psychoalign-csv (.csv), "
        "psychoalign-parquet (.parquet), model-vs-human (.csv), geirhos-2018-cnn (.csv), "
        "psychopy-builder (.csv))."
    )


def test_a_header_no_reader_recognises_is_one_sentence(tmp_path, restored_registry):
    register_reader(EXPORT_READER)
    path = tmp_path / "other.tsv"
    path.write_text("subject\tanswer\nsubject-01\tcat\n")
    with pytest.raises(TrialDataError) as error:
        read_trials(path)
    assert str(error.value) == (
        f"{path}: its columns match no trial reader of '.tsv' files (registered: "
        f"lab-export ({', '.join(_EXPORT_COLUMNS)}))."
    )


def test_registering_twice_needs_replace(restored_registry):
    register_reader(EXPORT_READER)
    with pytest.raises(ParameterError, match=r"^reader: a trial reader named 'lab-export'"):
        register_reader(EXPORT_READER)
    replacement = TrialReader("lab-export", (".tsv",), ("participant_id",), _from_export)
    register_reader(replacement, replace=True)
    assert [r for r in trial_readers() if r.name == "lab-export"] == [replacement]
    with pytest.raises(ParameterError, match=r"^reader: suffixes \('tsv',\)"):
        register_reader(TrialReader("no-dot", ("tsv",), (), _from_export))
    with pytest.raises(ParameterError, match=r"^reader: 'lab-export' is not a TrialReader"):
        register_reader("lab-export")


def test_a_suffix_is_recognised_whatever_its_case(tmp_path):
    # Files copied from Windows often end in .CSV; they were read before the registry.
    path = tmp_path / "edge_subject-01_session_1.CSV"
    path.write_bytes(EDGE_FILE.read_bytes())
    upper, lower = read_trials(path), read_trials(EDGE_FILE)
    assert len(upper) == len(raw_rows(EDGE_FILE))
    pd.testing.assert_frame_equal(upper[list(TRIAL_COLUMNS)], lower[list(TRIAL_COLUMNS)])
