from __future__ import annotations

import itertools
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psychoalign.datasets import MODEL_VS_HUMAN_DATASETS
from psychoalign.metrics import error_consistency
from psychoalign.trials import image_id
from support import HUMAN_RAW, make_trials, raw_rows


def _observers(**answers: str) -> pd.DataFrame:
    """Observers given as strings of 1 (right) and 0 (wrong) over the same images."""
    rows = []
    for name, pattern in answers.items():
        for index, bit in enumerate(pattern):
            rows.append((name, "human", f"i{index}.png", "cat", "cat" if bit == "1" else "dog"))
    return make_trials(rows)


@pytest.mark.parametrize(
    ("first", "second", "c_obs", "c_exp", "kappa"),
    [
        ("1100", "1010", 0.5, 0.5, 0.0),
        ("1110", "1100", 0.75, 0.5, 0.5),  # p = .75, .5: c_exp = .375 + .125
        ("1010", "0101", 0.0, 0.5, -1.0),
        ("1000", "1000", 1.0, 0.625, 1.0),
        ("1111", "1111", 1.0, 1.0, 1.0),  # c_obs = 1 gives kappa 1 by definition
        ("11100", "10011", 0.2, 0.52, -2 / 3),  # p = .6, .6: c_exp = .36 + .16
    ],
)
def test_kappa_by_hand(first, second, c_obs, c_exp, kappa):
    pair = error_consistency(_observers(a=first, b=second)).iloc[0]
    assert (pair.observer_1, pair.observer_2, pair.n_trials) == ("a", "b", len(first))
    assert pair.c_obs == pytest.approx(c_obs)
    assert pair.c_exp == pytest.approx(c_exp)
    assert pair.kappa == pytest.approx(kappa)


def test_all_pairs_at_once():
    table = error_consistency(_observers(a="1100", b="1010", c="1110"))
    assert list(zip(table.observer_1, table.observer_2, strict=True)) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]
    assert table.kappa.tolist() == pytest.approx([0.0, 0.5, 0.5])


def test_observers_are_paired_on_image_not_on_order_or_file_name():
    ordered = _observers(a="1100", b="1110")
    shuffled = ordered.copy()
    b_rows = shuffled.observer == "b"
    shuffled.loc[b_rows] = shuffled.loc[b_rows].iloc[::-1].to_numpy()
    shuffled["stimulus"] = shuffled.observer + "_" + shuffled.image
    shuffled["trial"] = shuffled.groupby("observer").cumcount() + 1
    assert error_consistency(shuffled).kappa.item() == pytest.approx(0.5)


def test_pairs_use_only_the_images_both_saw():
    trials = _observers(a="1100", b="1110")
    extra = make_trials([("a", "human", "only-a.png", "cat", "dog")])
    extra["trial"] = 5
    table = error_consistency(pd.concat([trials, extra], ignore_index=True))
    assert table.n_trials.item() == 4
    assert table.kappa.item() == pytest.approx(0.5)


def test_repeated_images_pair_in_order_of_presentation():
    rows = [
        ("a", "human", "x.png", "cat", "cat"),
        ("a", "human", "x.png", "cat", "dog"),
        ("b", "human", "x.png", "cat", "cat"),
        ("b", "human", "x.png", "cat", "dog"),
    ]
    pair = error_consistency(make_trials(rows)).iloc[0]
    assert (pair.n_trials, pair.c_obs, pair.kappa) == (2, 1.0, 1.0)


def test_human_kappa_of_every_model_vs_human_dataset_matches_an_independent_count():
    """Per-pair loop over the raw CSVs (standard library only), as model-vs-human does it."""
    from psychoalign.datasets import load_model_vs_human

    table = error_consistency(load_model_vs_human())
    computed = table.groupby("experiment").kappa.mean()
    for dataset in MODEL_VS_HUMAN_DATASETS:
        rows = [r for f in sorted((HUMAN_RAW / dataset).glob("*.csv")) for r in raw_rows(f)]
        kappas = []
        subjects = sorted({r["subj"] for r in rows})
        for condition in sorted({r["condition"] for r in rows}):
            correct = {
                s: {
                    image_id(r["imagename"]): r["object_response"] == r["category"]
                    for r in rows
                    if r["subj"] == s and r["condition"] == condition
                }
                for s in subjects
            }
            for a, b in itertools.combinations(subjects, 2):
                images = sorted(correct[a])
                x = [correct[a][i] for i in images]
                y = [correct[b][i] for i in images]
                c_obs = sum(p == q for p, q in zip(x, y, strict=True)) / len(x)
                p1, p2 = sum(x) / len(x), sum(y) / len(y)
                c_exp = p1 * p2 + (1 - p1) * (1 - p2)
                kappas.append(1.0 if c_obs == 1 else (c_obs - c_exp) / (1 - c_exp))
        assert computed[dataset] == pytest.approx(statistics.mean(kappas), abs=1e-12), dataset
    assert round(computed["edge"], 3) == 0.318


def test_bootstrap_interval_brackets_kappa_and_is_seeded(edge_trials):
    first = error_consistency(edge_trials, n_boot=300, seed=3)
    again = error_consistency(edge_trials, n_boot=300, seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert ((first.ci_low < first.kappa) & (first.kappa < first.ci_high)).all()
    assert len(first) == 45


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40),
)
def test_kappa_is_symmetric_bounded_and_one_for_twins(pairs):
    first = "".join("1" if a else "0" for a, _ in pairs)
    second = "".join("1" if b else "0" for _, b in pairs)
    forward = error_consistency(_observers(a=first, b=second)).kappa.item()
    backward = error_consistency(_observers(a=second, b=first)).kappa.item()
    assert forward == pytest.approx(backward)
    assert -1 - 1e-12 <= forward <= 1 + 1e-12
    assert error_consistency(_observers(a=first, b=first)).kappa.item() == 1.0
    assert np.isfinite(forward)
