from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.special import expit

from psychoalign.datasets import load_model_vs_human
from psychoalign.errors import ParameterError, TrialDataError
from psychoalign.stats import mixed_model, psychometric_fit, threshold_comparison
from support import make_trials

CATEGORIES = [f"c{i}" for i in range(16)]
LEVELS = ["0.00", "0.05", "0.10", "0.20", "0.30", "0.40", "0.60", "0.90"]


def _observer(name: str, kind: str, probability, rng, trials_per_level: int = 160) -> list[tuple]:
    """Trials whose correctness follows ``probability(level)``; wrong answers are random others."""
    rows = []
    for label in LEVELS:
        p = probability(float(label))
        for index in range(trials_per_level):
            category = CATEGORIES[index % 16]
            right = rng.random() < p
            response = category if right else CATEGORIES[(index + 1 + rng.integers(15)) % 16]
            rows.append((name, kind, f"{label}-{index}.png", category, response, label))
    return rows


def _table(rows: list[tuple]) -> pd.DataFrame:
    frames = []
    for label in LEVELS:
        part = [r[:5] for r in rows if r[5] == label]
        frames.append(make_trials(part, experiment="sim", condition=label))
    table = pd.concat(frames, ignore_index=True)
    table["trial"] = table.groupby("observer").cumcount() + 1
    return table


def _logistic_decreasing(threshold: float, spread: float, lapse: float):
    return lambda x: 1 / 16 + (1 - 1 / 16 - lapse) * (1 - expit((x - threshold) / spread))


def test_known_thresholds_are_recovered_within_their_intervals():
    rng = np.random.default_rng(11)
    truth = {"a": 0.25, "b": 0.35, "c": 0.45}
    rows = []
    for name, threshold in truth.items():
        rows += _observer(name, "human", _logistic_decreasing(threshold, 0.05, 0.04), rng)
    fits = psychometric_fit(_table(rows), method="mle", n_boot=150, seed=1).set_index("observer")
    for name, threshold in truth.items():
        assert fits.loc[name, "ci_low"] <= threshold <= fits.loc[name, "ci_high"], name
        assert fits.loc[name, "threshold"] == pytest.approx(threshold, abs=0.03)
    assert (fits.direction == "decreasing").all() and (fits.chance == 1 / 16).all()
    assert fits.lapse.between(0, 0.15).all() and fits.threshold_in_range.all()


def test_a_weibull_in_an_increasing_level_is_recovered():
    rng = np.random.default_rng(5)
    scale, shape = 0.2, 0.5  # F(x) = 1 - exp(-(x/0.2)^(1/0.5)); threshold = scale * ln2^shape

    def psychometric(x):
        return 1 / 16 + (1 - 1 / 16 - 0.02) * (1 - np.exp(-((x / scale) ** (1 / shape))))

    table = _table(_observer("w", "human", psychometric, rng, trials_per_level=240))
    fit = psychometric_fit(table, method="mle", function="weibull", n_boot=100, seed=2).iloc[0]
    truth = scale * np.log(2) ** shape
    assert fit.direction == "increasing"
    assert fit.ci_low <= truth <= fit.ci_high and fit.threshold == pytest.approx(truth, abs=0.02)


def test_a_model_far_below_ceiling_still_gets_a_threshold_inside_the_levels():
    rng = np.random.default_rng(3)
    weak = _logistic_decreasing(0.3, 0.05, 0.6)  # at best 40 % correct
    fits = psychometric_fit(_table(_observer("m", "model", weak, rng)), method="mle", n_boot=50)
    fits = fits.iloc[0]
    assert fits.threshold == pytest.approx(0.3, abs=0.05) and fits.lapse == pytest.approx(
        0.6, abs=0.06
    )
    bounded = psychometric_fit(
        _table(_observer("m", "model", weak, rng)), method="mle", max_lapse=0.06, n_boot=0
    ).iloc[0]
    assert bounded.lapse <= 0.06


# psignifit, the default method


def _three_observers() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for name, threshold in TRUTH.items():
        rows += _observer(name, "human", _logistic_decreasing(threshold, 0.05, 0.04), rng)
    return _table(rows)


TRUTH = {"a": 0.25, "b": 0.35, "c": 0.45}


def test_psignifit_recovers_known_thresholds_within_their_credible_intervals():
    fits = psychometric_fit(_three_observers()).set_index("observer")
    for name, threshold in TRUTH.items():
        assert fits.loc[name, "ci_low"] <= threshold <= fits.loc[name, "ci_high"], name
        assert fits.loc[name, "threshold"] == pytest.approx(threshold, abs=0.03)
        assert fits.loc[name, "lapse"] == pytest.approx(0.04, abs=0.04)
    assert (fits.method == "psignifit").all() and (fits.direction == "decreasing").all()
    assert (fits.chance == 1 / 16).all() and fits.converged.all() and fits.threshold_in_range.all()


def test_psignifit_and_the_mle_agree_on_the_same_simulated_data():
    data = _three_observers()
    bayes = psychometric_fit(data).set_index("observer")
    mle = psychometric_fit(data, method="mle", n_boot=0).set_index("observer")
    assert (mle.method == "mle").all() and mle.eta.isna().all()
    for name in TRUTH:
        assert bayes.loc[name, "threshold"] == pytest.approx(mle.loc[name, "threshold"], abs=0.01)
        assert bayes.loc[name, "lapse"] == pytest.approx(mle.loc[name, "lapse"], abs=0.02)


def test_psignifit_fits_data_on_a_known_rising_logistic_exactly():
    # Counts of 20000 trials per level rounded from the true function: the posterior sits
    # on the truth, whose binomial log-likelihood scipy gives directly.
    levels = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8])
    p = 1 / 16 + (1 - 1 / 16 - 0.05) * expit((levels - 0.4) / 0.08)
    n = 20000
    k = np.round(p * n).astype(int)
    table = pd.DataFrame(
        [
            ("sim", "h", "human", f"{level:.1f}", CATEGORIES[i % 16], i < right)
            for level, right in zip(levels, k, strict=True)
            for i in range(n)
        ],
        columns=["experiment", "observer", "observer_kind", "condition", "category", "correct"],
    )
    fit = psychometric_fit(table).iloc[0]
    assert fit.direction == "increasing" and fit.n_trials == 8 * n
    assert fit.threshold == pytest.approx(0.4, abs=0.003)
    assert fit.slope == pytest.approx(0.08, abs=0.003)
    assert fit.lapse == pytest.approx(0.05, abs=0.003) and fit.eta < 0.01
    assert fit.log_likelihood == pytest.approx(scipy_stats.binom.logpmf(k, n, p).sum(), abs=1.0)
    assert fit.ci_low < 0.4 < fit.ci_high and fit.ci_high - fit.ci_low < 0.02


def test_psignifit_recovers_a_rising_weibull_with_a_level_of_zero():
    rng = np.random.default_rng(5)
    scale, shape = 0.2, 0.5  # F(x) = 1 - exp(-(x/0.2)^(1/0.5)); threshold = scale * ln2^shape

    def psychometric(x):
        return 1 / 16 + (1 - 1 / 16 - 0.02) * (1 - np.exp(-((x / scale) ** (1 / shape))))

    table = _table(_observer("w", "human", psychometric, rng, trials_per_level=240))
    fit = psychometric_fit(table, function="weibull").iloc[0]
    truth = scale * np.log(2) ** shape
    assert fit.direction == "increasing" and fit.converged
    assert fit.ci_low <= truth <= fit.ci_high and fit.threshold == pytest.approx(truth, abs=0.02)
    assert fit.slope == pytest.approx(shape, abs=0.1)


def test_psignifit_recovers_a_falling_weibull_with_a_level_of_zero():
    # The level 0 (accuracy 1 - lapse) is what pins the lapse of a falling Weibull.
    rng = np.random.default_rng(7)
    scale, shape, lapse = 0.3, 0.4, 0.03

    def psychometric(x):
        return 1 / 16 + (1 - 1 / 16 - lapse) * np.exp(-((x / scale) ** (1 / shape)))

    table = _table(_observer("w", "human", psychometric, rng, trials_per_level=240))
    fit = psychometric_fit(table, function="weibull").iloc[0]
    truth = scale * np.log(2) ** shape
    assert fit.direction == "decreasing" and fit.converged
    assert fit.ci_low <= truth <= fit.ci_high and fit.threshold == pytest.approx(truth, abs=0.015)
    assert fit.lapse == pytest.approx(lapse, abs=0.02)
    assert fit.slope == pytest.approx(shape, abs=0.06)


def test_psignifit_gives_a_model_far_below_ceiling_its_threshold():
    rng = np.random.default_rng(3)
    weak = _logistic_decreasing(0.3, 0.05, 0.6)  # at best 40 % correct
    table = _table(_observer("m", "model", weak, rng))
    fit = psychometric_fit(table).iloc[0]
    assert fit.threshold == pytest.approx(0.3, abs=0.05) and fit.ci_low <= 0.3 <= fit.ci_high
    assert fit.lapse == pytest.approx(0.6, abs=0.06)
    assert psychometric_fit(table, max_lapse=0.06).iloc[0].lapse <= 0.06


def test_a_narrower_coverage_gives_a_nested_credible_interval():
    table = _three_observers().query("observer == 'b'")
    wide = psychometric_fit(table).iloc[0]
    narrow = psychometric_fit(table, confidence=0.68).iloc[0]
    assert wide.ci_low < narrow.ci_low < narrow.threshold < narrow.ci_high < wide.ci_high
    assert narrow.threshold == wide.threshold


def test_psignifit_and_the_mle_agree_on_the_bundled_human_noise_curves():
    trials = load_model_vs_human("uniform-noise")
    bayes = psychometric_fit(trials).set_index("observer")
    mle = psychometric_fit(trials, method="mle", n_boot=0).set_index("observer")
    assert list(bayes.index) == ["subject-01", "subject-02", "subject-03", "subject-04"]
    for name in bayes.index:
        assert bayes.loc[name, "threshold"] == pytest.approx(mle.loc[name, "threshold"], abs=0.01)
        assert bayes.loc[name, "ci_low"] <= mle.loc[name, "threshold"] <= bayes.loc[name, "ci_high"]
    assert bayes.threshold.between(0.25, 0.4).all() and bayes.converged.all()


def test_bad_psignifit_requests_are_refused():
    table = _three_observers()
    with pytest.raises(ParameterError, match=r"^method: 'bayes' is not one of psignifit, mle\.$"):
        psychometric_fit(table, method="bayes")
    with pytest.raises(ParameterError, match=r"^max_lapse: 0.95 must be below 1 - chance = 0.9375"):
        psychometric_fit(table, max_lapse=0.95)
    one_level = table.query("observer == 'a' and condition == '0.30'")
    with pytest.raises(
        TrialDataError, match=r"^experiment 'sim', observer 'a': 1 usable level\(s\)"
    ):
        psychometric_fit(one_level)
    negative = {label: float(label) for label in LEVELS} | {"0.00": -0.1}
    with pytest.raises(TrialDataError, match=r"observer 'a': level -0.1 is negative"):
        psychometric_fit(table, function="weibull", levels=negative)


def test_threshold_comparison_by_hand():
    fits = pd.DataFrame(
        {
            "experiment": "sim",
            "observer": ["h1", "h2", "h3", "m"],
            "observer_kind": ["human", "human", "human", "model"],
            "threshold": [0.2, 0.3, 0.4, 0.5],
            "ci_low": [0.1, 0.2, 0.3, 0.45],
            "ci_high": [0.3, 0.4, 0.5, 0.55],
        }
    )
    row = threshold_comparison(fits).iloc[0]
    half = scipy_stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3)
    assert (row.observer, row.human_mean, row.n_humans) == ("m", pytest.approx(0.3), 3)
    assert (row.human_low, row.human_high) == (pytest.approx(0.3 - half), pytest.approx(0.3 + half))
    assert row.difference == pytest.approx(0.2) and not row.within_human_range


def _mixed_data(seed: int = 0) -> tuple[pd.DataFrame, dict[str, float]]:
    """Humans and models with known fixed effects and random intercepts per observer and image."""
    rng = np.random.default_rng(seed)
    truth = {"Intercept": 2.0, "kind[T.model]": -1.0, "level": -4.0, "level:kind[T.model]": 2.0}
    image_effect = {f"img{i}": rng.normal(0, 0.5) for i in range(120)}
    rows = []
    for observer, kind in [
        *((f"h{i}", "human") for i in range(6)),
        *((f"m{i}", "model") for i in range(6)),
    ]:
        own = rng.normal(0, 0.3)
        for label in LEVELS:
            level = float(label)
            for image, effect in image_effect.items():
                model = kind == "model"
                logit = (
                    truth["Intercept"]
                    + truth["level"] * level
                    + model * (truth["kind[T.model]"] + truth["level:kind[T.model]"] * level)
                )
                right = rng.random() < expit(logit + own + effect)
                rows.append((observer, kind, f"{label}/{image}", label, right))
    frame = pd.DataFrame(
        rows, columns=["observer", "observer_kind", "image", "condition", "correct"]
    )
    return frame, truth


def test_the_mixed_model_recovers_known_effects():
    data, truth = _mixed_data()
    table = mixed_model(data).set_index("term")
    assert table["method"].iloc[0].startswith("binomial mixed GLM")
    for term, value in truth.items():
        assert table.loc[term, "estimate"] == pytest.approx(value, abs=0.3), term
    assert set(table.query("kind == 'variance'").index) == {"sd(observer)", "sd(image)"}
    assert table.loc["sd(image)", "estimate"] == pytest.approx(0.5, abs=0.2)


def test_the_mixed_model_is_reproducible_for_a_seed():
    # The variational fit draws random starting values; unseeded, the estimates moved in
    # the third decimal from run to run.
    data, _truth = _mixed_data()
    first, again = mixed_model(data, seed=3), mixed_model(data, seed=3)
    pd.testing.assert_frame_equal(first, again)


def test_gee_gives_the_same_fixed_effects_with_p_values():
    data, _truth = _mixed_data(1)
    table = mixed_model(data, method="gee").set_index("term")
    assert table["method"].iloc[0].startswith("GEE")
    assert table.loc["level", "estimate"] < -2 and table.loc["level", "p_value"] < 1e-6
    assert (table["kind"] == "fixed").all()


def test_bad_requests_are_refused():
    data, _ = _mixed_data()
    with pytest.raises(TrialDataError, match="needs both human and model observers"):
        mixed_model(data[data.observer_kind == "human"])
    with pytest.raises(TrialDataError, match="method: 'lme4'"):
        mixed_model(data, method="lme4")
    bad = make_trials([("a", "human", "x.png", "cat", "cat")], condition="bw")
    with pytest.raises(
        TrialDataError, match="column 'condition' has 'bw', which is not a numeric level"
    ):
        psychometric_fit(bad)


def test_bootstrap_count_and_coverage_are_checked_before_any_fit():
    trials = _table(_observer("h", "human", lambda level: 0.5, np.random.default_rng(0), 4))
    with pytest.raises(ParameterError, match=r"^n_boot: 2.5 must be a whole number"):
        psychometric_fit(trials, n_boot=2.5)
    with pytest.raises(ParameterError, match=r"^confidence: 1.0 must be a number in \(0, 1\)"):
        psychometric_fit(trials, confidence=1.0)
    with pytest.raises(ParameterError, match=r"^confidence: 0 must be a number"):
        threshold_comparison(pd.DataFrame(), confidence=0)
