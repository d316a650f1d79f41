"""Workflows: files in, tables and result folders out; the only layer that combines packages.

Compare observers, evaluate models on stimulus sets, build and align ClickMe maps, make
metamer sets and analyse their recognisability, and the demo.
"""

__all__: list[str] = []
