"""The layer-neutral ClickMe rules: the lab's rules are these, with the lab's errors."""

from __future__ import annotations

import pytest

from psychoalign.errors import LabError, ParameterError
from psychoalign.rules import LINSLEY_2019, ClickMeRules, click_pixel


def test_the_lab_plays_by_the_same_rules():
    from psychoalign.lab.clickme_rules import ClickMeRules as LabRules
    from psychoalign.lab.config import load_config

    lab = LabRules.from_config(load_config("clickme"))
    assert lab.as_dict() == LINSLEY_2019.as_dict()
    assert issubclass(LabRules, ClickMeRules)


def test_bad_settings_raise_parameter_errors_here_and_lab_errors_in_the_lab():
    from psychoalign.lab.clickme_rules import ClickMeRules as LabRules

    config = {"bubble_px": 21, "reference_px": 224, "click_budget": 0, "hidden_grey": 0.5,
              "durations_ms": {"time_limit": 20000}}  # fmt: skip
    with pytest.raises(ParameterError, match="'click_budget': 0 must be a whole number"):
        ClickMeRules.from_config(config)
    with pytest.raises(LabError, match="'click_budget': 0 must be a whole number"):
        LabRules.from_config(config)


def test_the_game_ends_when_recognised_budget_spent_or_time_up():
    rules = ClickMeRules(21, 224, 3, 2.0, 0.5)
    assert not rules.ended(recognised=False, n_clicks=2, elapsed_s=1.9)
    assert rules.ended(recognised=True, n_clicks=1, elapsed_s=0.1)
    assert rules.ended(recognised=False, n_clicks=3, elapsed_s=0.1)
    assert rules.ended(recognised=False, n_clicks=0, elapsed_s=2.0)


@pytest.mark.parametrize(
    ("x", "y", "pixel"),
    [(0, 0, (0, 0)), (223.99, 0.5, (0, 223)), (10.7, 3.2, (3, 10)), (224, 0, None),
     (-0.01, 5, None), (5, 100, None), (float("nan"), 1, None), (float("inf"), 1, None),
     (True, 1, None)],
)  # fmt: skip
def test_a_click_is_the_pixel_under_it_or_nothing_outside_the_image(x, y, pixel):
    assert click_pixel(x, y, 100, 224) == pixel
