from __future__ import annotations

import pandas as pd
import pytest

from psychoalign.errors import TrialDataError
from psychoalign.metrics import (
    MODEL_VS_HUMAN_EXCLUDED_CONDITIONS,
    benchmark,
    check_shared_stimuli,
    comparison_tables,
)
from psychoalign.metrics.benchmark import BENCHMARK_COLUMNS
from support import make_trials

# Two humans and a model, two conditions of four images; 1 = right, 0 = wrong.
PATTERNS = {
    "a": {"h1": "1100", "h2": "1110", "m": "1000"},
    "b": {"h1": "1010", "h2": "1100", "m": "0000"},
}


@pytest.fixture
def toy() -> pd.DataFrame:
    frames = []
    for condition, observers in PATTERNS.items():
        rows = [
            (
                name,
                "model" if name == "m" else "human",
                f"{condition}{i}.png",
                "cat",
                "cat" if bit == "1" else "dog",
            )
            for name, pattern in observers.items()
            for i, bit in enumerate(pattern)
        ]
        frame = make_trials(rows, condition=condition)
        frame["trial"] += 0 if condition == "a" else 4
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_benchmark_by_hand(toy):
    table = benchmark(toy)
    assert table.columns.tolist() == BENCHMARK_COLUMNS
    row = table.query("observer == 'm' and experiment == 'toy'").iloc[0]
    # vs h1: condition a c_obs .75 kappa .5, b c_obs .5 kappa 0; (acc diff)^2 .0625, .25
    # vs h2: condition a c_obs .5 kappa .2, b c_obs .5 kappa 0; (acc diff)^2 .25, .25
    assert row.accuracy == pytest.approx(1 / 8)
    assert row.accuracy_difference == pytest.approx((0.15625 + 0.25) / 2)
    assert row.observed_consistency == pytest.approx((0.625 + 0.5) / 2)
    assert row.error_consistency == pytest.approx((0.25 + 0.1) / 2)
    human = table.query("observer == 'h1' and experiment == 'toy'").iloc[0]
    assert (human.accuracy, human.accuracy_difference) == (0.5, pytest.approx(0.03125))
    assert (human.observed_consistency, human.error_consistency) == (0.625, pytest.approx(0.25))
    overall = table.query("experiment == 'all'").set_index("observer")
    assert overall.loc["m", "error_consistency"] == pytest.approx(0.175)


def test_excluded_conditions_leave_every_score(toy):
    row = (
        benchmark(toy, excluded_conditions={"toy": ["b"]})
        .query("observer == 'm' and experiment == 'toy'")
        .iloc[0]
    )
    assert row.accuracy == 0.25
    assert row.accuracy_difference == pytest.approx((0.0625 + 0.25) / 2)
    assert row.observed_consistency == pytest.approx(0.625)
    assert row.error_consistency == pytest.approx(0.35)


def test_the_all_rows_average_over_datasets(toy):
    second = toy.assign(experiment="other")
    second.loc[second.observer == "m", "response"] = second.loc[second.observer == "m", "category"]
    second["correct"] = second.response == second.category
    table = benchmark(pd.concat([toy, second], ignore_index=True)).set_index(
        ["observer", "experiment"]
    )
    assert table.loc[("m", "all"), "accuracy"] == pytest.approx((0.125 + 1.0) / 2)


def test_a_lone_human_has_no_partner(toy):
    table = benchmark(toy[toy.observer != "h2"]).set_index(["observer", "experiment"])
    assert pd.isna(table.loc[("h1", "toy"), "error_consistency"])
    assert table.loc[("m", "toy"), "error_consistency"] == pytest.approx(0.25)


def test_model_vs_human_human_ceiling(model_vs_human_trials):
    table = benchmark(model_vs_human_trials, excluded_conditions=MODEL_VS_HUMAN_EXCLUDED_CONDITIONS)
    datasets = table.query("experiment != 'all'")
    assert datasets.experiment.nunique() == 17
    assert len(table.query("experiment == 'all'")) == model_vs_human_trials.observer.nunique()
    # Kept conditions only: uniform-noise drops 0.00, 0.60, 0.90.
    noise = model_vs_human_trials.query(
        "experiment == 'uniform-noise' and condition not in ['0.00', '0.60', '0.90']"
    )
    pooled = noise.groupby("observer").correct.mean()
    computed = datasets.query("experiment == 'uniform-noise'").set_index("observer").accuracy
    pd.testing.assert_series_equal(computed.sort_index(), pooled.sort_index(), check_names=False)
    edge = datasets.query("experiment == 'edge'")
    assert edge.error_consistency.mean() == pytest.approx(0.3184, abs=1e-4)


def test_experiments_without_humans_are_not_benchmark_datasets(toy):
    models_only = toy[toy.observer == "m"].assign(experiment="no-humans")
    table = benchmark(pd.concat([toy, models_only], ignore_index=True))
    assert set(table.experiment) == {"toy", "all"}
    overall = table.query("observer == 'm' and experiment == 'all'").iloc[0]
    assert overall.accuracy == pytest.approx(1 / 8)  # not averaged with the model-only experiment


def _three_datasets(toy: pd.DataFrame) -> pd.DataFrame:
    """toy; 'unpaired', where the model saw other images; 'humans-only', without the model."""
    unpaired = toy.assign(experiment="unpaired")
    model = unpaired.observer == "m"
    unpaired.loc[model, "image"] = "x" + unpaired.loc[model, "image"]
    humans_only = toy[toy.observer != "m"].assign(experiment="humans-only")
    return pd.concat([toy, unpaired, humans_only], ignore_index=True)


def test_the_all_row_counts_its_datasets_and_names_those_left_out(toy):
    table = benchmark(_three_datasets(toy)).set_index(["observer", "experiment"])
    model = table.loc[("m", "all")]
    assert model.n_datasets == 1
    assert model.left_out == (
        "humans-only (not run); unpaired (no stimulus shared with the humans)"
    )
    # Averaged over 'toy' alone (as test_benchmark_by_hand), not NaN-skipped per column.
    assert model.accuracy == pytest.approx(1 / 8)
    assert model.error_consistency == pytest.approx(0.175)
    unpaired = table.loc[("m", "unpaired")]
    assert (unpaired.n_datasets, pd.isna(unpaired.error_consistency)) == (0, True)
    assert unpaired.left_out == "unpaired (no stimulus shared with the humans)"
    human = table.loc[("h1", "all")]
    assert (human.n_datasets, human.left_out) == (3, "")


def test_a_lone_human_is_left_out_with_its_reason(toy):
    table = benchmark(toy[toy.observer != "h2"]).set_index(["observer", "experiment"])
    assert table.loc[("h1", "all"), "left_out"] == "toy (no human to compare with)"
    assert table.loc[("h1", "all"), "n_datasets"] == 0
    assert pd.isna(table.loc[("h1", "all"), "accuracy"])


def test_a_model_sharing_no_stimulus_with_the_humans_is_refused(toy):
    relabelled = toy.copy()
    relabelled.loc[relabelled.observer == "m", "condition"] = "NaN"
    with pytest.raises(TrialDataError) as error:
        check_shared_stimuli(relabelled)
    assert str(error.value) == (
        "experiment 'toy': model 'm' shares no stimulus with the human observers (trials "
        "pair by image within a condition); the humans' conditions are 'a', 'b' and the "
        "model's 'NaN'."
    )
    check_shared_stimuli(toy)  # shared images: no error
    with pytest.raises(TrialDataError, match="experiment 'toy': model 'm' shares no stimulus"):
        comparison_tables(relabelled)
