"""psychoalign: run psychophysics, run vision models on the same stimuli, compare humans and models.

The analysis side (this package without :mod:`psychoalign.lab`) needs neither PsychoPy
nor a display. Every refusal is a :class:`PsychoalignError` (see :mod:`psychoalign.errors`).
The trial functions and ``__version__`` are looked up on first use, so ``import
psychoalign`` (and the command line's ``--help``) imports neither pandas nor the
installed packages' metadata.
"""

from typing import Any

from psychoalign._lazy import lazy_attributes
from psychoalign.errors import PsychoalignError, TrialDataError

#: Public name -> the module that defines it, imported when the name is first touched.
_HOMES = {
    "read_trials": "psychoalign.trials",
    "validate_trials": "psychoalign.trials",
    "write_trials": "psychoalign.trials",
}
#: Subpackages that ``import psychoalign`` used to import, still reachable as attributes.
_SUBMODULES = ("trials",)

__all__ = [
    "PsychoalignError",
    "TrialDataError",
    "__version__",
    "read_trials",
    "validate_trials",
    "write_trials",
]

_lazy_getattr = lazy_attributes(__name__, _HOMES, _SUBMODULES)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = version = _installed_version()
        return version
    return _lazy_getattr(name)


def __dir__() -> list[str]:
    return sorted({*globals(), "__version__", *_HOMES, *_SUBMODULES})


def _installed_version() -> str:
    """The installed distribution's version, or ``0+unknown`` in a source tree not installed."""
    from importlib import metadata

    try:
        return metadata.version("psychoalign")
    except metadata.PackageNotFoundError:
        return "0+unknown"
