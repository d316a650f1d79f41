"""The rules of the ClickMe game, without a display: bubble size, budget, timer, points, reveal."""

from __future__ import annotations

import numpy as np
import pytest

from psychoalign.lab.clickme_rules import ClickMeRules, reveal
from psychoalign.lab.config import load_config
from psychoalign.lab.errors import LabError


def test_the_shipped_settings_make_the_rules_of_linsley_2019():
    rules = ClickMeRules.from_config(load_config("clickme"))
    assert rules == ClickMeRules(
        bubble_px=21, reference_px=224, click_budget=25, time_limit_s=20.0, hidden_grey=0.5
    )
    assert rules.bubble_diameter(224) == 21.0 and rules.bubble_diameter(112) == 10.5


def test_points_reward_few_clicks_and_nothing_when_not_recognised():
    rules = ClickMeRules(21, 224, 25, 20.0, 0.5)
    assert [rules.points(recognised=True, n_clicks=n) for n in (1, 2, 25)] == [25, 24, 1]
    assert rules.points(recognised=False, n_clicks=25) == 0
    assert rules.clicks_left(25) == 0
    assert rules.seconds_left(0.25) == 19.75 and rules.seconds_left(21) == 0.0


def test_reveal_shows_discs_around_the_clicks_and_grey_elsewhere():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    revealed = reveal(pixels, [(5, 5), (30, 20)], diameter=7.0, grey=0.5)
    assert revealed.shape == pixels.shape and revealed.dtype == np.uint8
    rows, cols = np.indices((40, 30))
    inside = ((rows - 5) ** 2 + (cols - 5) ** 2 <= 3.5**2) | (
        (rows - 30) ** 2 + (cols - 20) ** 2 <= 3.5**2
    )
    assert (revealed[inside] == pixels[inside]).all()
    assert (revealed[~inside] == 128).all()
    assert (reveal(pixels, [], 7.0, 0.0) == 0).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("click_budget: 0\n", "setting 'click_budget': 0 must be a whole number of at least 1."),
        ("bubble_px: -3\n", "setting 'bubble_px': -3 must be a positive number."),
        ("hidden_grey: 2\n", "setting 'hidden_grey': 2 must be a number in [0, 1]."),
        ("durations_ms: {time_limit: [1, 2]}\n", "setting 'durations_ms.time_limit': [1, 2]"),
    ],
)
def test_bad_game_settings_are_refused_naming_the_files(tmp_path, text, message):
    override = tmp_path / "lab.yaml"
    override.write_text(text)
    config = load_config("clickme", override)
    with pytest.raises(LabError) as refused:
        ClickMeRules.from_config(config)
    assert message in str(refused.value) and str(override) in str(refused.value)


def test_the_clickme_plan_checks_the_game_first(tmp_path):
    from psychoalign.datasets import stimulus_set
    from psychoalign.lab.loading import load_paradigm

    module = load_paradigm("clickme")
    config = {**load_config("clickme"), "click_budget": 0}
    with pytest.raises(LabError, match="'click_budget': 0 must be a whole number"):
        module.plan(stimulus_set("silhouette"), config, 0, np.random.default_rng(0))
    config = {**load_config("clickme"), "task_model": None}
    with pytest.raises(LabError, match="task_model: ClickMe needs a model"):
        module.plan(stimulus_set("silhouette"), config, 0, np.random.default_rng(0))
