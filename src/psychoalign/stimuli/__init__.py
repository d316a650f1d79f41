"""Stimulus sets (manifest + checksums), parametric degradations, masks, metamer-set rules.

Imports neither PsychoPy nor a display nor torch; never imports ``lab``, ``plots``,
``metrics`` or ``models``. Metamer synthesis is :mod:`psychoalign.synthesis`.
"""

from psychoalign.stimuli.contact_sheet import contact_sheet
from psychoalign.stimuli.degrade import (
    BACKGROUND_GREY,
    MANIPULATIONS,
    Manipulation,
    contrast,
    false_colour,
    get_manipulation,
    grayscale,
    high_pass,
    low_pass,
    phase_scrambling,
    power_equalisation,
    rotation,
    salt_and_pepper,
    to_grayscale,
    uniform_noise,
)
from psychoalign.stimuli.images import (
    StimulusSetError,
    encode_png,
    read_image,
    read_pixels,
    to_uint8,
    write_png,
)
from psychoalign.stimuli.make import make_stimulus_set, stimulus_seed
from psychoalign.stimuli.masks import PARADIGM_MASKS, paradigm_mask, pink_noise
from psychoalign.stimuli.metamer_sets import (
    NATURAL,
    distinct_layers,
    join_metamer_set,
    layer_conditions,
    metamer_stimulus,
    valid_metamers,
)
from psychoalign.stimuli.stimulus_set import (
    IMAGE_SUFFIXES,
    MANIFEST_COLUMNS,
    SetWriter,
    StimulusSet,
    derived_stimulus,
)

__all__ = [
    "BACKGROUND_GREY",
    "IMAGE_SUFFIXES",
    "MANIFEST_COLUMNS",
    "MANIPULATIONS",
    "NATURAL",
    "PARADIGM_MASKS",
    "Manipulation",
    "SetWriter",
    "StimulusSet",
    "StimulusSetError",
    "contact_sheet",
    "contrast",
    "derived_stimulus",
    "distinct_layers",
    "encode_png",
    "false_colour",
    "get_manipulation",
    "grayscale",
    "high_pass",
    "join_metamer_set",
    "layer_conditions",
    "low_pass",
    "make_stimulus_set",
    "metamer_stimulus",
    "paradigm_mask",
    "phase_scrambling",
    "pink_noise",
    "power_equalisation",
    "read_image",
    "read_pixels",
    "rotation",
    "salt_and_pepper",
    "stimulus_seed",
    "to_grayscale",
    "to_uint8",
    "uniform_noise",
    "valid_metamers",
    "write_png",
]
