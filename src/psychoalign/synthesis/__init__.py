"""Metamer synthesis and validation, above the models (as plenoptic's ``synthesize`` is).

:class:`Metamer` and :func:`synthesize_layers` make model metamers (Feather et al. 2019,
2023); :func:`null_distribution` and :func:`validate` check them. Needs torch
(``pip install 'psychoalign[models]'``); imports ``models``, ``stimuli`` and ``trials``.
Writing a metamer stimulus set is a workflow: :func:`psychoalign.workflows.make_metamer_set`.
"""

from psychoalign.synthesis.metamer import Metamer, initial_noise, step_sizes, synthesize_layers
from psychoalign.synthesis.validation import null_distribution, validate

__all__ = [
    "Metamer",
    "initial_noise",
    "null_distribution",
    "step_sizes",
    "synthesize_layers",
    "validate",
]
