"""Mixed ANOVA with permutation p-values, against independent computations."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.io import loadmat

from psychoalign.errors import ParameterError
from psychoalign.stats.anova import ANOVA_COLUMNS, mixed_anova
from support import SHARED_DATA

ALEXNET = (
    SHARED_DATA
    / "model-metamers"
    / "EXP1"
    / "VisionExperiment1_network_vs_humans_datamatrix_alexnet_public.mat"
)


def _long(values: np.ndarray, groups: list[str]) -> pd.DataFrame:
    """Subjects x levels array -> long table, subject ids unique across groups."""
    n, k = values.shape
    return pd.DataFrame(
        {
            "subject": np.repeat([f"s{i}" for i in range(n)], k),
            "group": np.repeat(groups, k),
            "level": np.tile([f"l{j}" for j in range(k)], n),
            "y": values.ravel(),
        }
    )


def _alexnet() -> pd.DataFrame:
    """The published alexnet matrix: 22 humans and the model on each one's stimuli."""
    matrix = loadmat(ALEXNET)["participant_data_matrix"]
    values = np.concatenate([matrix[:, :, 0], matrix[:, :, 1]])
    return _long(values, ["human"] * 22 + ["model"] * 22)


def _random(seed: int, n: int = 12, k: int = 4) -> pd.DataFrame:
    """Unbalanced groups (5 and 7 subjects), a small layer effect and noise."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, 1)) + np.linspace(0, 0.5, k) + rng.normal(size=(n, k))
    return _long(values, ["a"] * 5 + ["b"] * (n - 5))


def _annihilator(data: pd.DataFrame, *terms: str) -> tuple[np.ndarray, int]:
    """I - H of a least-squares fit on dummy codes of ``terms``, and its residual df."""
    codes = {
        "subject": pd.get_dummies(data.subject, dtype=float),
        "level": pd.get_dummies(data.level, drop_first=True, dtype=float),
    }
    codes["interaction"] = codes["level"].mul(
        (data.group == sorted(data.group.unique())[1]).astype(float), axis=0
    )
    design = np.hstack([codes[term].to_numpy() for term in terms])
    hat = design @ np.linalg.pinv(design)
    return np.eye(len(data)) - hat, len(data) - int(np.linalg.matrix_rank(design))


def _residual(data: pd.DataFrame, *terms: str) -> tuple[float, int]:
    """Residual sum of squares and degrees of freedom of a least-squares fit on dummy codes."""
    annihilator, df = _annihilator(data, *terms)
    y = data.y.to_numpy()
    return float(y @ annihilator @ y), df


@pytest.mark.parametrize("data", [_alexnet(), _random(3)], ids=["alexnet", "random"])
def test_f_p_df_and_effect_sizes_match_independent_computations(data):
    table = mixed_anova(
        data, dv="y", within="level", between="group", subject="subject", n_permutations=0
    )
    assert list(table.columns) == ANOVA_COLUMNS
    assert table.source.tolist() == ["group", "level", "group:level"]
    # between: a one-way ANOVA on the subject means
    means = data.groupby(["group", "subject"]).y.mean()
    one_way = scipy_stats.f_oneway(*[part.to_numpy() for _, part in means.groupby(level="group")])
    n, k = data.subject.nunique(), data.level.nunique()
    between = table.iloc[0]
    assert (between.df1, between.df2) == (1, n - 2)
    assert pytest.approx(one_way.statistic, rel=1e-8) == between.F
    assert between.p == pytest.approx(one_way.pvalue, rel=1e-8)
    # within and interaction: nested least-squares fits with subjects as fixed effects
    error, df_error = _residual(data, "subject", "level", "interaction")
    assert (table.df1[1], table.df2[1]) == (k - 1, df_error) == (k - 1, (k - 1) * (n - 2))
    for row, smaller, larger in (
        (1, ("subject",), ("subject", "level")),
        (2, ("subject", "level"), ("subject", "level", "interaction")),
    ):
        (ss_small, df_small), (ss_large, df_large) = (
            _residual(data, *smaller),
            _residual(data, *larger),
        )
        effect, df_effect = ss_small - ss_large, df_small - df_large
        f = effect / df_effect / (error / df_error)
        assert (table.df1[row], table.df2[row]) == (df_effect, df_error)
        assert table.F[row] == pytest.approx(f, rel=1e-8)
        assert table.p[row] == pytest.approx(scipy_stats.f.sf(f, df_effect, df_error), rel=1e-6)
        assert table.partial_eta_squared[row] == pytest.approx(effect / (effect + error), rel=1e-8)
    assert table.p_permutation.isna().all()


def test_a_huge_effect_has_the_smallest_permutation_p():
    rng = np.random.default_rng(0)
    profile = np.linspace(0, 1, 5)
    values = np.stack([profile * 10 + 5, profile * 3]) + rng.normal(0, 0.1, (2, 5))
    # 15 + 15 subjects: the observed split is one of C(30, 15) = 155 million
    values = np.repeat(values, 15, axis=0) + rng.normal(0, 0.1, (30, 5))
    data = _long(values, ["a"] * 15 + ["b"] * 15)
    table = mixed_anova(
        data, dv="y", within="level", between="group", subject="subject", n_permutations=499
    )
    assert table.p_permutation.tolist() == [1 / 500] * 3


def _f_within_and_interaction(data: pd.DataFrame, y: np.ndarray | None = None) -> np.ndarray:
    """F of the level and of the interaction from nested fits, for ``y`` (rows: data sets)."""
    y = np.atleast_2d(data.y.to_numpy() if y is None else y)
    fits = [
        _annihilator(data, *terms)
        for terms in (("subject",), ("subject", "level"), ("subject", "level", "interaction"))
    ]
    (subject, level, error), (df_subject, df_level, df_error) = zip(
        *[(np.einsum("pi,ij,pj->p", y, m, y), df) for m, df in fits], strict=True
    )
    error_mean_square = error / df_error
    return np.stack(
        [
            (subject - level) / (df_subject - df_level) / error_mean_square,
            (level - error) / (df_level - df_error) / error_mean_square,
        ]
    )


def test_permutation_p_values_approach_the_exact_ones_of_every_arrangement():
    # 2 + 2 subjects x 3 levels: 6 ways to split the subjects into the groups, 6 ** 4 ways
    # to order the levels within the subjects; the exact p counts every one of them
    values = np.random.default_rng(11).normal(size=(4, 3)) + np.array([0, 0.8, 1.6])
    data = _long(values, ["a", "a", "b", "b"])
    (observed_level,), (observed_interaction,) = _f_within_and_interaction(data)
    splits = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    f_between, f_interaction = [], []
    for split in splits:
        groups = ["a" if i in split else "b" for i in range(4)]
        relabelled = data.assign(group=np.repeat(groups, 3))
        means = relabelled.groupby(["group", "subject"]).y.mean()
        parts = [part.to_numpy() for _, part in means.groupby(level="group")]
        f_between.append(scipy_stats.f_oneway(*parts).statistic)
        f_interaction.append(_f_within_and_interaction(relabelled)[1][0])
    orders = itertools.product(itertools.permutations(range(3)), repeat=4)
    reordered = [
        np.concatenate([values[i, list(order)] for i, order in enumerate(arrangement)])
        for arrangement in orders
    ]
    f_level = _f_within_and_interaction(data, np.array(reordered))[0]
    exact = [
        np.mean(np.array(f_between) >= f_between[0] * (1 - 1e-9)),
        np.mean(np.array(f_level) >= observed_level * (1 - 1e-9)),
        np.mean(np.array(f_interaction) >= observed_interaction * (1 - 1e-9)),
    ]
    table = mixed_anova(
        data, dv="y", within="level", between="group", subject="subject", n_permutations=20_000
    )
    assert table.p_permutation.to_numpy() == pytest.approx(exact, abs=0.015)
    assert 0 < exact[1] < 0.2 and exact[0] >= 1 / 3  # neither trivial nor identical


def test_permutation_p_values_are_uniform_under_the_null():
    p_values = []
    for seed in range(150):
        values = np.random.default_rng(seed).normal(size=(10, 3))
        table = mixed_anova(
            _long(values, ["a"] * 4 + ["b"] * 6),
            dv="y",
            within="level",
            between="group",
            subject="subject",
            n_permutations=199,
            seed=seed,
        )
        p_values.append(table[["p", "p_permutation"]].to_numpy())
    p_values = np.array(p_values)  # data sets x sources x (F test, permutation)
    permutation = p_values[:, :, 1]
    for source in range(3):
        assert scipy_stats.kstest(permutation[:, source], "uniform").pvalue > 0.01
        assert 0.01 <= (permutation[:, source] <= 0.05).mean() <= 0.10
    # normal errors: the permutation p follows the F-test p
    assert np.corrcoef(p_values[:, :, 0].ravel(), permutation.ravel())[0, 1] > 0.95


def test_the_seed_fixes_the_permutation_p_values():
    data = _random(7)
    options = {"dv": "y", "within": "level", "between": "group", "subject": "subject"}
    first = mixed_anova(data, **options, n_permutations=300, seed=5)
    again = mixed_anova(data, **options, n_permutations=300, seed=5)
    other = mixed_anova(data, **options, n_permutations=300, seed=6)
    pd.testing.assert_frame_equal(first, again)
    assert not np.array_equal(first.p_permutation, other.p_permutation)
    pd.testing.assert_frame_equal(
        first.drop(columns="p_permutation"), other.drop(columns="p_permutation")
    )


def test_progress_counts_both_null_distributions():
    done = []
    mixed_anova(
        _random(1),
        dv="y",
        within="level",
        between="group",
        subject="subject",
        n_permutations=2500,
        progress=done.append,
    )
    assert sum(done) == 5000


def _refused(data: pd.DataFrame, **options) -> str:
    settings = {"dv": "y", "within": "level", "between": "group", "subject": "subject"}
    with pytest.raises(ParameterError) as refusal:
        mixed_anova(data, **{**settings, **options})
    return str(refusal.value)


def test_unusable_data_and_options_are_refused_in_one_sentence():
    data = _random(2)
    assert _refused(data.drop(columns="group")) == (
        "data: has no column 'group' (columns: subject, level, y)."
    )
    moved = data.copy()
    moved.loc[0, "group"] = "b"
    assert _refused(moved).startswith("data: subject 's0' is in more than one 'group' group")
    assert _refused(data.iloc[1:]).startswith("data: subject 's0' has 0 values at level 'l0'")
    text = data.astype({"y": object})
    text.loc[3, "y"] = "high"
    assert _refused(text) == "data: row 3: column 'y' has 'high', not a number."
    one_group = data.assign(group="a")
    assert _refused(one_group).startswith("data: needs at least 2 'group' groups")
    assert _refused(data, n_permutations=-1) == (
        "n_permutations: -1 must be a whole number of at least 0."
    )
