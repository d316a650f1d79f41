"""Reading trial files: one registry of formats, one module per format.

:mod:`~psychoalign.trials.readers.registry` holds the registry (:class:`TrialReader`,
:func:`register_reader`, :func:`trial_readers`) and :func:`read_trials`, which
dispatches every file through it. The formats, in the order they are tried when they
name equally many identifying columns:

- :mod:`~psychoalign.trials.readers.psychoalign`: psychoalign's own CSV and Parquet
  files, and PsychoPy's CSVs (the fallback for any other CSV);
- :mod:`~psychoalign.trials.readers.model_vs_human`: the raw CSVs of the Wichmann lab's
  experiments (model-vs-human humans and models, Geirhos et al. 2018 humans,
  texture-vs-shape humans and CNNs);
- :mod:`~psychoalign.trials.readers.geirhos2018`: the CNN files of Geirhos et al. 2018
  (the same with their decision statistics).

A new format is a new module defining ``READER`` and one ``register_reader`` line below
(the registry's docstring says what the module provides).
"""

from __future__ import annotations

from psychoalign.trials.readers import geirhos2018, model_vs_human, psychopy_builder
from psychoalign.trials.readers import psychoalign as psychoalign_files
from psychoalign.trials.readers.column_mapping import (
    COLUMN_PRESETS,
    ColumnMapping,
    ColumnsSpec,
    resolve_columns,
)
from psychoalign.trials.readers.geirhos2018 import CNN_STATISTICS
from psychoalign.trials.readers.model_vs_human import (
    PUBLISHED_EXPERIMENTS,
    image_id,
    read_model_vs_human,
)
from psychoalign.trials.readers.registry import (
    ReadContext,
    TrialReader,
    find_trial_files,
    read_trials,
    register_reader,
    trial_readers,
)

__all__ = [
    "CNN_STATISTICS",
    "COLUMN_PRESETS",
    "PUBLISHED_EXPERIMENTS",
    "ColumnMapping",
    "ColumnsSpec",
    "ReadContext",
    "TrialReader",
    "find_trial_files",
    "image_id",
    "read_model_vs_human",
    "read_trials",
    "register_reader",
    "resolve_columns",
    "trial_readers",
]

register_reader(psychoalign_files.CSV_READER)
register_reader(psychoalign_files.PARQUET_READER)
register_reader(model_vs_human.READER)
register_reader(geirhos2018.READER)
register_reader(psychopy_builder.READER)
