"""Clicks: the ``clicks`` JSON column of trial tables, one row per click, and its refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from clickmap_support import clicks, trials

from psychoalign.errors import ClickMapError
from psychoalign.metrics.clickmaps import build_maps, click_table
from psychoalign.metrics.clickmaps.clicks import CLICK_COLUMNS


def test_click_table_has_one_row_per_click_in_order():
    table = click_table(
        trials([("a", "x.png", "cat", [(1, 2), (3, 4)]), ("b", "y.png", "dog", [(5, 6)])])
    )
    assert list(table.columns) == list(CLICK_COLUMNS)
    assert table[["observer", "image", "row", "col", "click"]].values.tolist() == [
        ["a", "x.png", 1, 2, 1],
        ["a", "x.png", 3, 4, 2],
        ["b", "y.png", 5, 6, 1],
    ]
    assert table.t.tolist() == [0.5, 1.0, 0.5]
    assert table.category.tolist() == ["cat", "cat", "dog"]
    assert (table.image_height == 11).all() and (table.image_width == 11).all()


def test_trials_without_clicks_give_no_rows():
    table = trials([("a", "x.png", "cat", [(1, 2)]), ("b", "x.png", "cat", [])])
    table = pd.concat([table, table.iloc[[0]].assign(clicks=np.nan)], ignore_index=True)
    assert click_table(table).observer.tolist() == ["a"]


_ROW_B = r"trials: row b \(observer 'a', image 'x\.png'\): column"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("clicks", '[{"row": 1, "col": 2, "t": 0.5}', rf"{_ROW_B} 'clicks' is not valid JSON"),
        ("clicks", '{"row": 1}', rf"{_ROW_B} 'clicks' holds a JSON dict, not a list"),
        ("clicks", '[{"row": 1, "t": 0.5}]', rf"{_ROW_B} 'clicks' has click 1 = .*'col'"),
        (
            "clicks",
            '[{"row": 1, "col": 2, "t": 0.5}, {"row": 11, "col": 2, "t": 0.9}]',
            rf"{_ROW_B} 'clicks' has click 2 at row 11, col 2, outside the 11 x 11 image\.$",
        ),
        ("clicks", '[{"row": -1, "col": 2, "t": 0.5}]', rf"{_ROW_B} .*outside the 11 x 11 image"),
        ("clicks", '[{"row": 1.5, "col": 2, "t": 0.5}]', rf"{_ROW_B} .* row 1\.5, which is not"),
        ("clicks", '[{"row": 1, "col": 2, "t": "soon"}]', rf"{_ROW_B} .* t 'soon', which is not"),
        ("clicks", '[{"row": 1, "col": 2, "t": -0.5}]', rf"{_ROW_B} .* t -0\.5, which is not a"),
        ("clicks", '[{"row": 1, "col": 2, "t": NaN}]', rf"{_ROW_B} .* t nan, which is not a"),
        ("clicks", 5, rf"{_ROW_B} 'clicks' has 5, which is not JSON text\.$"),
        ("image_height", 0, rf"{_ROW_B} 'image_height' has 0, which is not a positive"),
        ("image_width", 10.5, rf"{_ROW_B} 'image_width' has 10\.5, which is not"),
    ],
)
def test_bad_clicks_name_the_row_and_the_column(column, value, message):
    table = trials([("a", "x.png", "cat", [(1, 2)]), ("a", "x.png", "cat", [(3, 4)])])
    table.index = ["a", "b"]
    table[column] = table[column].astype(object)
    table.loc["b", column] = value
    with pytest.raises(ClickMapError, match=message) as error:
        click_table(table)
    assert str(error.value).endswith(".") and "\n" not in str(error.value)  # one sentence


def test_a_row_is_named_by_its_source_session_and_trial():
    table = trials([("s1", "x.png", "cat", [(1, 2)]), ("s1", "y.png", "cat", [(3, 4)])])
    table["session"], table["trial"] = np.int64(2), [1, 2]
    table.loc[1, "clicks"] = "[{"
    message = (
        "sub-s1_ses-2.csv: row 1 (observer 's1', session 2, trial 2, image 'y.png'): column "
        "'clicks' is not valid JSON (Expecting property name enclosed in double quotes at "
        "character 2)."
    )
    with pytest.raises(ClickMapError) as error:
        click_table(table, source="sub-s1_ses-2.csv")
    assert str(error.value) == message


def test_trials_read_from_files_name_each_row_by_its_file_and_row(tmp_path):
    from psychoalign.trials import read_trials, write_trials

    table = trials([("s1", "x.png", "cat", [(1, 2)]), ("s1", "y.png", "cat", [(3, 4)])])
    table["clicks"] = table["clicks"].astype(object)
    table.loc[1, "clicks"] = '[{"row": 1, "col": 2, "t": -1}]'
    full = table.assign(
        experiment="clickme",
        observer_kind="human",
        session=1,
        trial=[1, 2],
        stimulus=table["image"],
        condition="0",
        response="cat",
        correct=True,
        rt=1.0,
    )
    path = write_trials(full, tmp_path / "sub-s1_ses-1.csv")
    with pytest.raises(ClickMapError) as error:
        read = read_trials(path, keep_location=True)
        click_table(read.astype({"image_height": int, "image_width": int}))
    assert str(error.value).startswith(
        f"{path}: row 3 (observer 's1', session 1, trial 2, image 'y.png'): column 'clicks' "
        "has click 1 with t -1"
    )


def test_a_click_written_as_a_whole_float_is_a_pixel():
    table = trials([("a", "x.png", "cat", [])])
    table.loc[0, "clicks"] = '[{"row": 3.0, "col": 4, "t": 1}]'
    assert click_table(table)[["row", "col", "t"]].values.tolist() == [[3, 4, 1.0]]


def test_missing_column_is_named():
    with pytest.raises(ClickMapError, match=r"^trials: the table has no column 'clicks' \(it"):
        click_table(trials([("a", "x.png", "cat", [(1, 2)])]).drop(columns="clicks"))


def test_a_hand_made_click_outside_the_image_names_the_row():
    table = clicks([("a", "x", "cat", [(1, 1), (2, 2)])])
    table.loc[1, "col"] = 11
    message = (
        "clicks: row 1 (observer 'a', image 'x', click 2): columns 'row', 'col' have 2, 11, "
        "outside the 11 x 11 image."
    )
    with pytest.raises(ClickMapError) as error:
        build_maps(table)
    assert str(error.value) == message


def test_a_hand_made_pixel_that_is_not_whole_names_the_row_and_column():
    table = clicks([("a", "x", "cat", [(1, 1), (2, 2)])])
    table["row"] = table["row"].astype(float)
    table.loc[0, "row"] = 1.5
    with pytest.raises(ClickMapError) as error:
        build_maps(table)
    assert str(error.value) == (
        "clicks: row 0 (observer 'a', image 'x', click 1): column 'row' has 1.5, which is "
        "not a whole number of pixels."
    )


def test_a_click_table_without_a_pixel_column_is_refused():
    with pytest.raises(ClickMapError, match=r"^clicks: the click table has no column 'col'"):
        build_maps(clicks([("a", "x", "cat", [(1, 1)])]).drop(columns="col"))


def test_an_image_with_two_categories_is_refused():
    table = clicks([("a", "x", "cat", [(1, 1)]), ("b", "x", "dog", [(2, 2)])])
    with pytest.raises(ClickMapError) as error:
        build_maps(table)
    assert str(error.value) == (
        "clicks: image 'x' has category cat and dog in different rows; an image has one category."
    )


def test_bad_clicks_in_a_trial_table_given_to_build_maps_name_the_parameter():
    table = trials([("a", "x", "cat", [(1, 1)])])
    table.loc[0, "clicks"] = "[1]"
    with pytest.raises(ClickMapError, match=r"^clicks: row 0 \(observer 'a', image 'x'\): "):
        build_maps(table)
