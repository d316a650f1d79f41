"""One self-contained HTML report of a results folder: figures, tables, ceilings, provenance.

:func:`build_report` recognises the output of every psychoalign command
(:data:`OUTPUT_KINDS`), shows its tables and figures (drawing them from the tables where the
folder holds none), the noise ceilings measured on the data and the provenance of it all.
"""

from __future__ import annotations

from psychoalign.report.build import build_report
from psychoalign.report.kinds import OUTPUT_KINDS, OutputKind, find_outputs

__all__ = ["OUTPUT_KINDS", "OutputKind", "build_report", "find_outputs"]
