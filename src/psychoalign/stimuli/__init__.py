"""Stimulus sets (manifest + checksums), parametric degradations and masks.

Imports neither PsychoPy nor a display; never imports ``lab``, ``plots`` or ``metrics``.
"""

from psychoalign.stimuli.contact_sheet import contact_sheet
from psychoalign.stimuli.degrade import MANIPULATIONS, get_manipulation
from psychoalign.stimuli.images import StimulusSetError, read_image, write_png
from psychoalign.stimuli.make import make_stimulus_set, stimulus_seed
from psychoalign.stimuli.masks import PARADIGM_MASKS, paradigm_mask, pink_noise
from psychoalign.stimuli.stimulus_set import StimulusSet

__all__ = [
    "MANIPULATIONS",
    "PARADIGM_MASKS",
    "StimulusSet",
    "StimulusSetError",
    "contact_sheet",
    "get_manipulation",
    "make_stimulus_set",
    "paradigm_mask",
    "pink_noise",
    "read_image",
    "stimulus_seed",
    "write_png",
]
