"""Package attributes imported on first use, so that a light import stays light.

``import psychoalign.workflows`` must not import torch, nor ``import psychoalign`` (and
so ``psychoalign --help``) pandas; their names load their module when first touched.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, homes: Mapping[str, str], submodules: Collection[str] = ()
) -> Callable[[str], Any]:
    """A package ``__getattr__`` that imports each name of ``homes`` from its module.

    Parameters
    ----------
    package
        The package's ``__name__``.
    homes
        Public name -> the module that defines it.
    submodules
        Subpackages reachable as attributes without importing them first
        (``psychoalign.trials`` after ``import psychoalign``), imported on first touch.

    Returns
    -------
    Callable
        The ``__getattr__`` to assign in the package (PEP 562).
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module protocol's name
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(homes[name]), name)

    return __getattr__
