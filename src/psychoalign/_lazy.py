"""Package attributes imported on first use, so that a light import stays light.

``import psychoalign.workflows`` must not import torch; its names load their module (and
torch) when first touched.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A package ``__getattr__`` that imports each name of ``homes`` from its module."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module protocol's name
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(homes[name]), name)

    return __getattr__
