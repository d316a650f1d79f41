"""Metamer synthesis and validation, above the models (as plenoptic's ``synthesize`` is).

:class:`Metamer` and :func:`synthesize_layers` make model metamers (Feather et al. 2019,
2023), with per-round checkpoints to resume from (:mod:`~psychoalign.synthesis.checkpoint`);
:func:`null_distribution` and :func:`validate` check them. Needs torch
(``pip install 'psychoalign[models]'``); imports ``models``, ``stimuli`` and ``trials``.
Writing a metamer stimulus set is a workflow: :func:`psychoalign.workflows.make_metamer_set`.
"""

from psychoalign.synthesis.checkpoint import (
    SynthesisCheckpoint,
    checkpoint_file,
    checkpoint_folder,
    mark_writing,
    remove_checkpoints,
)
from psychoalign.synthesis.metamer import Metamer, initial_noise, step_sizes, synthesize_layers
from psychoalign.synthesis.validation import null_distribution, validate

__all__ = [
    "Metamer",
    "SynthesisCheckpoint",
    "checkpoint_file",
    "checkpoint_folder",
    "initial_noise",
    "mark_writing",
    "null_distribution",
    "remove_checkpoints",
    "step_sizes",
    "synthesize_layers",
    "validate",
]
