"""Reading trial files: one registry of formats, one module per format.

:mod:`~psychoalign.trials.readers.registry` holds the registry (:class:`TrialReader`,
:func:`register_reader`, :func:`trial_readers`) and :func:`read_trials`, which
dispatches every file through it. The formats, in the order they are tried when they
name equally many identifying columns:

- :mod:`~psychoalign.trials.readers.psychoalign`: psychoalign's own CSV and Parquet
  files, and PsychoPy's CSVs (the fallback for any other CSV);
- :mod:`~psychoalign.trials.readers.model_vs_human`: the raw CSVs of the
  model-vs-human benchmark.

A new format is a new module defining ``READER`` and one ``register_reader`` line below
(the registry's docstring says what the module provides).
"""

from __future__ import annotations

from psychoalign.trials.readers import model_vs_human
from psychoalign.trials.readers import psychoalign as psychoalign_files
from psychoalign.trials.readers.model_vs_human import image_id
from psychoalign.trials.readers.registry import (
    TrialReader,
    find_trial_files,
    read_trials,
    register_reader,
    trial_readers,
)

__all__ = [
    "TrialReader",
    "find_trial_files",
    "image_id",
    "read_trials",
    "register_reader",
    "trial_readers",
]

register_reader(psychoalign_files.CSV_READER)
register_reader(psychoalign_files.PARQUET_READER)
register_reader(model_vs_human.READER)
