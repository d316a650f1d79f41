"""Workflows: files in, tables and result folders out; the only layer that combines packages.

Compare observers, evaluate models on stimulus sets, build and align ClickMe maps, make
metamer sets and analyse their recognisability, and the demo. Each name is imported on
first use, so ``import psychoalign.workflows`` does not import torch.
"""

from psychoalign._lazy import lazy_attributes

#: Public name -> the module that defines it.
_HOMES = {
    "evaluate": "psychoalign.workflows.evaluation",
}

__all__ = sorted(_HOMES)
__getattr__ = lazy_attributes(__name__, _HOMES)
