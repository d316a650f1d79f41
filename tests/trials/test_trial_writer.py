"""write_trials: atomic CSV and Parquet that round-trip exactly through read_trials."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psychoalign.trials import TrialDataError, read_trials, validate_trials, write_trials
from support import make_trials


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_real_data_round_trips_exactly(edge_trials, tmp_path, suffix):
    path = write_trials(edge_trials, tmp_path / f"edge{suffix}")
    back = read_trials(path)
    pd.testing.assert_frame_equal(back, edge_trials)
    assert not list(tmp_path.glob(".edge*"))  # no temporary file left behind


def test_optional_columns_round_trip(tmp_path):
    table = make_trials(
        [("a", "human", "x.png", "cat", "cat"), ("a", "human", "y.png", "dog", "na")]
    )
    table["block"] = pd.array([1, pd.NA], dtype="Int64")
    table["onset_s"] = [0.1 + 0.2, float("nan")]
    table["stim_frames"] = pd.array([3, 3], dtype="Int64")
    table["clicks"] = pd.Series(['[{"row": 3, "col": 4, "t": 0.5}]', np.nan], dtype="str")
    table["rt"] = [1 / 3, float("nan")]
    for suffix in (".csv", ".parquet"):
        back = read_trials(write_trials(table, tmp_path / f"t{suffix}"))
        pd.testing.assert_frame_equal(back, validate_trials(table))
        assert back.clicks.isna().tolist() == [False, True]


def test_write_refuses_other_formats(tmp_path, edge_trials):
    with pytest.raises(
        TrialDataError, match=r"\.xlsx: a trial file must end in \.csv or \.parquet"
    ):
        write_trials(edge_trials, tmp_path / "t.xlsx")


def test_invalid_table_writes_nothing(tmp_path):
    table = make_trials([("a", "robot", "x.png", "cat", "cat")])
    with pytest.raises(TrialDataError):
        write_trials(table, tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12
).filter(lambda s: s.strip() == s)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    conditions=st.lists(
        _text | st.sampled_from(["0.90", "0.9", "na", "NaN", "true", "c05", "1e3"]),
        min_size=1,
        max_size=6,
    ),
    rts=st.lists(
        st.floats(min_value=0, max_value=1e4) | st.just(0.1 + 0.2) | st.just(math.nan),
        min_size=1,
        max_size=6,
    ),
)
def test_any_table_round_trips_exactly(tmp_path, conditions, rts):
    n = min(len(conditions), len(rts))
    rows = [("obs,1", "human", f'img "{i}".png', "cat", "na" if i % 2 else "cat") for i in range(n)]
    table = make_trials(rows)
    table["condition"] = conditions[:n]
    table["rt"] = rts[:n]
    for suffix in (".csv", ".parquet"):
        back = read_trials(write_trials(table, tmp_path / f"t{suffix}"))
        pd.testing.assert_frame_equal(back, validate_trials(table))


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    table = make_trials(
        [("a", "human", "x.png", "cat", "cat"), ("a", "human", "y.png", "dog", "dog")]
    )
    table["extra"] = pd.Series([1, "one"], dtype=object)  # no Parquet type holds both
    target = tmp_path / "t.parquet"
    target.write_bytes(b"previous")
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises
        write_trials(table, target)
    assert list(tmp_path.iterdir()) == [target] and target.read_bytes() == b"previous"
