"""The CNN trial files of Geirhos et al. (2018), "Generalisation in humans and DNNs".

These are the raw CSVs of :mod:`~psychoalign.trials.readers.model_vs_human` (named
``<experiment>_<cnn>_session_<n>.csv``, read by the same rules) with the network's
decision statistics added. The 16-way decision is made two ways, each with its
statistics:

- ``object_response`` (``entropy_16``, ``highest_prob_16``, ``prob_correct_16``,
  ``rank_correct_16``): the 16 categories scored by the *mean* of their ImageNet
  classes' softmax probabilities, renormalised;
- ``object_response_sums`` (the same with ``_sums``): scored by the *sum* of their
  classes' probabilities. The paper's accuracy tables use this decision; read the files
  with ``response_column="object_response_sums"`` (``psychoalign compare
  --response-column object_response_sums``) to score the CNNs by it.

``entropy_1000`` is the entropy of the 1000-way softmax. The statistics are kept as
number columns (``rank_*`` as whole numbers), ``object_response_sums`` as text.

References
----------
Geirhos, R., Temme, C. R. M., Rauber, J., Schütt, H. H., Bethge, M., & Wichmann, F. A.
(2018). Generalisation in humans and deep neural networks. NeurIPS 31.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from psychoalign.trials.readers._cells import parse_numbers
from psychoalign.trials.readers.model_vs_human import read_model_vs_human
from psychoalign.trials.readers.registry import ReadContext, TrialReader
from psychoalign.trials.schema import MODEL_VS_HUMAN_CATEGORIES

__all__ = ["CNN_STATISTICS"]

#: The decision statistics of the 2018 CNN files, besides ``object_response_sums``.
CNN_STATISTICS = (
    "entropy_1000",
    "prob_correct_16",
    "rank_correct_16",
    "entropy_16",
    "highest_prob_16",
    "prob_correct_16_sums",
    "rank_correct_16_sums",
    "entropy_16_sums",
    "highest_prob_16_sums",
)


def _read_cnn_file(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    frame = read_model_vs_human(raw, path, context)
    for column in CNN_STATISTICS:
        if column in frame.columns:
            whole = column.startswith("rank_")
            frame[column] = parse_numbers(raw, column, whole=whole)
    return frame


#: Recognised by the model-vs-human columns plus the second decision and its probability.
READER = TrialReader(
    name="geirhos-2018-cnn",
    suffixes=(".csv",),
    columns=("subj", "object_response", "imagename", "object_response_sums", "prob_correct_16"),
    read=_read_cnn_file,
    categories=MODEL_VS_HUMAN_CATEGORIES,
)
