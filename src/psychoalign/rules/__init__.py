"""Game rules shared by the lab and the web front ends (plain numpy, no display, no server).

:mod:`psychoalign.rules.clickme` holds the ClickMe game: bubble size, click budget, time
limit, points and what the model is shown. ``psychoalign.lab`` (``experiments/clickme.py``)
and ``psychoalign.web`` play by the same rules, so lab and web data are comparable.
"""

from psychoalign.rules.clickme import LINSLEY_2019, ClickMeRules, click_pixel, reveal

__all__ = ["LINSLEY_2019", "ClickMeRules", "click_pixel", "reveal"]
