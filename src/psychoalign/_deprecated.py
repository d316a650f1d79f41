"""Old import paths of moved public names: they keep working for one release, with a warning.

A module whose names moved keeps a ``__getattr__`` made by :func:`moved`; the warning
points at the caller's line (``stacklevel=2``), so psychoalign's own code, which must use
the new paths, fails its tests if it ever takes an old one.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved"]

#: The release after which the old paths are removed.
REMOVED_IN = "0.3"


def moved(old_module: str, new_homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that finds each name of ``new_homes`` in its new module.

    Parameters
    ----------
    old_module
        The module the names used to live in (its ``__name__``).
    new_homes
        Name -> the module it lives in now.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module protocol's name
        if name not in new_homes:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(
            f"{old_module}.{name} moved to {new_homes[name]}.{name}; the old path will be "
            f"removed in psychoalign {REMOVED_IN}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_homes[name]), name)

    return __getattr__
