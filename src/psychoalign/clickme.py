"""Deprecated: the ClickMe workflows moved to :mod:`psychoalign.workflows.clickmaps`.

``from psychoalign.clickme import build_clickmaps`` keeps working until psychoalign 0.3,
with a ``DeprecationWarning``.
"""

from psychoalign._deprecated import moved

__all__: list[str] = []

__getattr__ = moved(
    __name__,
    {
        "align_clickmaps": "psychoalign.workflows.clickmaps",
        "build_clickmaps": "psychoalign.workflows.clickmaps",
    },
)
