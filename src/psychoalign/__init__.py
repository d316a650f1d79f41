"""psychoalign: run psychophysics, run vision models on the same stimuli, compare humans and models.

The analysis side (this package without :mod:`psychoalign.lab`) needs neither PsychoPy
nor a display. Every refusal is a :class:`PsychoalignError` (see :mod:`psychoalign.errors`).
"""

from importlib import metadata

from psychoalign.errors import PsychoalignError
from psychoalign.trials import TrialDataError, read_trials, validate_trials, write_trials

try:
    __version__ = metadata.version("psychoalign")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "PsychoalignError",
    "TrialDataError",
    "__version__",
    "read_trials",
    "validate_trials",
    "write_trials",
]
