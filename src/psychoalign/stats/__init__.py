r"""Statistics: psychometric functions and thresholds, binomial mixed models, mixed ANOVAs.

Every function takes a trial table and returns a tidy DataFrame. Levels are the numeric
values of the ``condition`` labels (``"0.35"`` -> 0.35, ``"c50"`` -> 50), or an explicit
mapping from label to value.

References
----------
.. [1] Wichmann & Hill (2001). The psychometric function: I. Fitting, sampling, and
   goodness of fit. Perception & Psychophysics, 63(8), 1293-1313.
.. [2] Geirhos, Temme, Rauber, Schütt, Bethge & Wichmann (2018). Generalisation in humans
   and deep neural networks. NeurIPS.
.. [3] Seabold & Perktold (2010). statsmodels: econometric and statistical modeling with
   Python. Proceedings of the 9th Python in Science Conference.
"""

from psychoalign.stats.anova import ANOVA_COLUMNS, mixed_anova
from psychoalign.stats.mixed import MIXED_METHODS, mixed_model
from psychoalign.stats.psychometric import (
    PSYCHOMETRIC_FUNCTIONS,
    PSYCHOMETRIC_METHODS,
    psychometric_fit,
    threshold_comparison,
)

__all__ = [
    "ANOVA_COLUMNS",
    "MIXED_METHODS",
    "PSYCHOMETRIC_FUNCTIONS",
    "PSYCHOMETRIC_METHODS",
    "mixed_anova",
    "mixed_model",
    "psychometric_fit",
    "threshold_comparison",
]
