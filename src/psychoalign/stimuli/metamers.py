"""Deprecated: model metamers moved out of ``stimuli`` (which must not import the models).

The synthesis and its validation are :mod:`psychoalign.synthesis`, the batch-norm folding
:mod:`psychoalign.models.folding`, the metamer manifest's rules
:mod:`psychoalign.stimuli.metamer_sets` and writing a metamer set
:func:`psychoalign.workflows.make_metamer_set`. The old names keep working for one release,
with a ``DeprecationWarning``.
"""

from psychoalign._deprecated import moved

#: Nothing is defined here any more; every old name is found in its new home.
__all__: list[str] = []

__getattr__ = moved(
    __name__,
    {
        "NATURAL": "psychoalign.stimuli.metamer_sets",
        "Metamer": "psychoalign.synthesis.metamer",
        "initial_noise": "psychoalign.synthesis.metamer",
        "step_sizes": "psychoalign.synthesis.metamer",
        "synthesize_layers": "psychoalign.synthesis.metamer",
        "INITIAL_SD": "psychoalign.synthesis.metamer",
        "CPU_BATCH_SIZE": "psychoalign.synthesis.metamer",
        "null_distribution": "psychoalign.synthesis.validation",
        "validate": "psychoalign.synthesis.validation",
        "make_metamer_set": "psychoalign.workflows.metamers",
        "NULL_IMAGES": "psychoalign.workflows.metamers",
        "LOSSES_ALL_UP_TO": "psychoalign.workflows.metamers",
        "LOSSES_EVERY": "psychoalign.workflows.metamers",
    },
)
