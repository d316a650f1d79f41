"""Deprecated: the comparison workflows moved to :mod:`psychoalign.workflows`.

``compare_humans_and_models``, ``curve_trials`` and ``PipelineResult`` live in
:mod:`psychoalign.workflows.compare`, ``metamer_recognisability_analysis`` in
:mod:`psychoalign.workflows.metamers`; the old paths warn and are removed in 0.3.
"""

from psychoalign._deprecated import moved

__all__: list[str] = []

__getattr__ = moved(
    __name__,
    {
        "PipelineResult": "psychoalign.workflows.compare",
        "compare_humans_and_models": "psychoalign.workflows.compare",
        "curve_trials": "psychoalign.workflows.compare",
        "metamer_recognisability_analysis": "psychoalign.workflows.metamers",
    },
)
