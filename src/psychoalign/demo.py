"""Deprecated: the demo moved to :mod:`psychoalign.workflows.demo`.

The old path warns and is removed in 0.3.
"""

from psychoalign._deprecated import moved

__all__: list[str] = []

__getattr__ = moved(
    __name__,
    {
        "DEMO_SEED": "psychoalign.workflows.demo",
        "run_demo": "psychoalign.workflows.demo",
        "summary_table": "psychoalign.workflows.demo",
    },
)
