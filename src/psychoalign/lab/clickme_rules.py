"""The rules of the ClickMe game, as the lab plays them: :mod:`psychoalign.rules.clickme`.

The rules live in the layer-neutral :mod:`psychoalign.rules` so that the online game
(:mod:`psychoalign.web`) plays by the same ones; here :class:`ClickMeRules` refuses a bad
setting of a lab configuration with a :class:`~psychoalign.errors.LabError`.
"""

from __future__ import annotations

from psychoalign.lab.errors import LabError
from psychoalign.rules import clickme as _clickme
from psychoalign.rules.clickme import reveal

__all__ = ["ClickMeRules", "reveal"]


class ClickMeRules(_clickme.ClickMeRules):
    """:class:`psychoalign.rules.ClickMeRules` whose :meth:`from_config` raises LabError.

    Examples
    --------
    >>> ClickMeRules(21, 224, 25, 20.0, 0.5).points(recognised=True, n_clicks=3)
    23
    """

    error = LabError
