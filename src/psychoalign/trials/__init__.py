"""The trial table: one row per trial, for human and model observers alike.

Every part of psychoalign reads and writes this table (docs/DESIGN.md section 2).

- :mod:`~psychoalign.trials.schema`: the columns and their dtypes
  (:data:`TRIAL_COLUMNS`, :data:`OPTIONAL_COLUMNS`), fixed values (:data:`NO_RESPONSE`,
  :data:`MODEL_VS_HUMAN_CATEGORIES`), :func:`require_columns`, :func:`level_values`;
- :mod:`~psychoalign.trials.validation`: :func:`validate_trials`, which names file, row
  and column of every problem;
- :mod:`~psychoalign.trials.readers`: :func:`read_trials` and :func:`find_trial_files`,
  dispatching every file through one registry of formats (:func:`trial_readers`,
  :func:`register_reader`): psychoalign's own CSV and Parquet files, PsychoPy's CSVs and
  the raw CSVs of the model-vs-human benchmark;
- :mod:`~psychoalign.trials.writer`: :func:`write_trials`, atomic CSV or Parquet.
"""

from __future__ import annotations

from psychoalign.trials.readers import (
    CNN_STATISTICS,
    COLUMN_PRESETS,
    PUBLISHED_EXPERIMENTS,
    ColumnMapping,
    ColumnsSpec,
    ReadContext,
    TrialReader,
    find_trial_files,
    image_id,
    read_model_vs_human,
    read_trials,
    register_reader,
    resolve_columns,
    trial_readers,
)
from psychoalign.trials.schema import (
    MODEL_VS_HUMAN_CATEGORIES,
    NO_RESPONSE,
    OBSERVER_KINDS,
    OPTIONAL_COLUMNS,
    TRIAL_COLUMNS,
    TrialDataError,
    level_values,
    require_columns,
)
from psychoalign.trials.validation import validate_trials
from psychoalign.trials.writer import write_trials

__all__ = [
    "CNN_STATISTICS",
    "COLUMN_PRESETS",
    "MODEL_VS_HUMAN_CATEGORIES",
    "NO_RESPONSE",
    "OBSERVER_KINDS",
    "OPTIONAL_COLUMNS",
    "PUBLISHED_EXPERIMENTS",
    "TRIAL_COLUMNS",
    "ColumnMapping",
    "ColumnsSpec",
    "ReadContext",
    "TrialDataError",
    "TrialReader",
    "find_trial_files",
    "image_id",
    "level_values",
    "read_model_vs_human",
    "read_trials",
    "register_reader",
    "require_columns",
    "resolve_columns",
    "trial_readers",
    "validate_trials",
    "write_trials",
]
