"""Column mappings: text, presets, YAML files with a responses table, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from psychoalign.errors import ParameterError, TrialDataError
from psychoalign.trials.readers.column_mapping import resolve_columns

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "psychopy-builder"


def test_text_and_preset_give_the_same_columns():
    text = resolve_columns("response=key_resp.keys, rt=key_resp.rt")
    assert text.columns == resolve_columns("psychopy-keyboard").columns
    assert text.responses is None


def test_yaml_with_sections_has_a_responses_table():
    mapping = resolve_columns(FIXTURES / "keyboard.yaml")
    assert mapping.columns == {"response": "key_resp.keys", "rt": "key_resp.rt"}
    assert mapping.responses == {"f": "cat", "j": "dog"}
    assert mapping.category_of("j", Path("x.csv"), 3) == "dog"


def test_value_missing_from_the_responses_table_names_file_and_row():
    mapping = resolve_columns(FIXTURES / "keyboard.yaml")
    with pytest.raises(TrialDataError) as error:
        mapping.category_of("k", Path("x.csv"), 4)
    assert str(error.value) == (
        f"x.csv: row 4: response 'k' is not in the responses table of "
        f"{FIXTURES / 'keyboard.yaml'} (it maps 'f', 'j')."
    )


def test_unknown_section_and_empty_table_are_refused():
    with pytest.raises(ParameterError, match="'keys' is not a section"):
        resolve_columns({"columns": {"response": "a"}, "keys": {"f": "cat"}})
    with pytest.raises(ParameterError, match="the responses table is empty"):
        resolve_columns({"columns": {"response": "a"}, "responses": {}})
