"""Every interval in a figure's CSV is drawn, and unmatched comparisons are not hidden.

The model here is a copy of a real human's trials relabelled as a model ("copycat"): real
trials, known answers, and no network to run. The figures are drawn again from the CSV
they wrote, by the same drawing function, and their artists are read back.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from psychoalign import plots
from psychoalign.datasets import load_model_vs_human
from psychoalign.metrics import accuracy, behavioural_consistency, benchmark, error_consistency
from psychoalign.plots.alignment import _bar_figure
from psychoalign.plots.curves import _level_panels

COPYCAT = "copycat"


@pytest.fixture(scope="module")
def humans() -> pd.DataFrame:
    return load_model_vs_human(["edge", "silhouette", "uniform-noise"])


def _copycat(humans: pd.DataFrame, experiments: list[str]) -> pd.DataFrame:
    """subject-01's trials of ``experiments`` as a model observer."""
    own = humans[(humans.observer == "subject-01") & humans.experiment.isin(experiments)]
    return own.assign(observer=COPYCAT, observer_kind="model")


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"condition": str})


def _drawn_intervals(ax) -> list[tuple[float, float, float]]:
    """(x, bottom, top) of every vertical segment drawn as a line collection."""
    found = []
    for collection in ax.collections:
        for segment in getattr(collection, "get_segments", list)():
            (x0, y0), (x1, y1) = segment[0], segment[-1]
            if np.isclose(x0, x1):
                found.append((float(x0), min(y0, y1), max(y0, y1)))
    return found


def _assert_drawn(ax, rows: pd.DataFrame, x: str = "x", tolerance: float = 0.3) -> None:
    drawn = _drawn_intervals(ax)
    for row in rows.dropna(subset=["low", "high"]).itertuples(index=False):
        hits = [
            d
            for d in drawn
            if abs(d[0] - getattr(row, x)) < tolerance
            and d[1] == pytest.approx(row.low, abs=1e-9)
            and d[2] == pytest.approx(row.high, abs=1e-9)
        ]
        assert hits, f"interval {row.low:.3f}–{row.high:.3f} of {row.series} is not drawn"


def _panels(table: pd.DataFrame, value: str):
    levels = {
        experiment: rows.sort_values("x").drop_duplicates("x").condition.tolist()
        for experiment, rows in table.groupby("experiment")
    }
    figure = _level_panels(
        table, value, levels, reference=None, ylim=(-0.2, 1.02), level_label="", ylabel=""
    )
    return dict(zip(sorted(levels), figure.axes[: len(levels)], strict=True))


def test_single_level_accuracy_draws_the_human_range_and_the_model_interval(tmp_path, humans):
    sets = humans[humans.experiment.isin(["edge", "silhouette"])]
    trials = pd.concat([sets, _copycat(humans, ["edge", "silhouette"])], ignore_index=True)
    plots.accuracy_by_level(accuracy(trials), tmp_path / "accuracy")
    written = _csv(tmp_path / "accuracy.csv")
    assert written.groupby("experiment").condition.nunique().eq(1).all()  # one level each
    assert written[["low", "high"]].notna().all().all()  # humans' range, model's Wilson CI
    for experiment, ax in _panels(written, "accuracy").items():
        _assert_drawn(ax, written[written.experiment == experiment])


def test_error_consistency_draws_every_range_of_its_csv(tmp_path, humans):
    edge = humans[humans.experiment == "edge"]
    kappa = error_consistency(pd.concat([edge, _copycat(humans, ["edge"])], ignore_index=True))
    plots.error_consistency_by_level(kappa, tmp_path / "kappa")
    written = _csv(tmp_path / "kappa.csv")
    model = written[written.series == COPYCAT].iloc[0]
    pairs = kappa[(kappa.observer_1 == COPYCAT) | (kappa.observer_2 == COPYCAT)].kappa
    assert (model.low, model.high) == (pytest.approx(pairs.min()), pytest.approx(pairs.max()))
    _assert_drawn(_panels(written, "kappa")["edge"], written)


def test_consistency_bars_have_error_bars_and_a_tiny_bar_is_labelled(tmp_path, humans):
    sets = humans[humans.experiment.isin(["edge", "silhouette"])]
    trials = pd.concat([sets, _copycat(humans, ["edge", "silhouette"])], ignore_index=True)
    table = pd.concat(
        [behavioural_consistency(trials, metric, n_splits=5) for metric in ("O2", "I2n")],
        ignore_index=True,
    )
    tiny = (table.metric == "O2") & (table.experiment == "silhouette") & (table.observer == COPYCAT)
    table.loc[tiny, "raw_correlation"] = 0.002
    plots.consistency_bars(table, tmp_path / "bars")
    written = _csv(tmp_path / "bars.csv")
    assert written[["low", "high"]].notna().sum().tolist() == [2, 2]  # edge O2: no valid split
    figure = _bar_figure(written, {"Category level": "O2", "Image level": "I2n"})
    for ax, panel in zip(figure.axes, ("Category level", "Image level"), strict=False):
        rows = written[written.panel == panel].dropna(subset=["low", "high"])
        bars = [patch.get_x() + patch.get_width() / 2 for patch in ax.patches]
        drawn = _drawn_intervals(ax)
        for row in rows.itertuples(index=False):
            assert any(
                d[1] == pytest.approx(row.low)
                and d[2] == pytest.approx(row.high)
                and min(abs(d[0] - b) for b in bars) < 1e-9
                for d in drawn
            ), f"{panel} {row.experiment} {row.observer}: no error bar"
    assert "0.002" in {text.get_text() for text in figure.axes[0].texts}


def test_all_datasets_compares_humans_on_the_models_datasets_only(tmp_path, humans):
    sets = humans[humans.experiment.isin(["edge", "silhouette"])]
    scores = benchmark(pd.concat([sets, _copycat(humans, ["edge"])], ignore_index=True))
    plots.consistency_vs_accuracy(scores, tmp_path / "scatter", experiment="all")
    plots.benchmark_table(scores, tmp_path / "table", experiment="all")
    edge = scores[(scores.experiment == "edge")].set_index("observer")
    for name, column in (("scatter", "consistency"), ("table", "error_consistency")):
        written = _csv(tmp_path / f"{name}.csv")
        human = written[written.observer_kind == "human"]
        if name == "scatter":  # each human's mean over edge alone, as for the model
            expected = edge.loc[human.observer, "error_consistency"].to_numpy()
        else:
            expected = [edge.loc[edge.observer_kind == "human", "error_consistency"].mean()]
        np.testing.assert_allclose(human[column], expected)
        svg = (tmp_path / f"{name}.svg").read_text()
        assert "datasets the models were run on: edge" in svg


def test_models_on_no_shared_dataset_are_flagged_not_matched(tmp_path, humans):
    sets = humans[humans.experiment.isin(["edge", "silhouette"])]
    other = _copycat(humans, ["silhouette"]).assign(observer="other")
    trials = pd.concat([sets, _copycat(humans, ["edge"]), other], ignore_index=True)
    plots.consistency_vs_accuracy(benchmark(trials), tmp_path / "scatter", experiment="all")
    assert "NOT MATCHED" in (tmp_path / "scatter.svg").read_text()


def test_a_model_on_some_of_the_human_conditions_is_flagged(tmp_path, humans):
    noise = humans[humans.experiment == "uniform-noise"]
    model = _copycat(humans, ["uniform-noise"]).query("condition in ['0.00', '0.35']")
    plots.accuracy_by_level(
        accuracy(pd.concat([noise, model], ignore_index=True)), tmp_path / "noise"
    )
    svg = (tmp_path / "noise.svg").read_text()
    # A long title is wrapped into lines, each its own text element.
    drawn = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert "NOT MATCHED" in drawn and "on 2 of the 8 human conditions" in drawn
