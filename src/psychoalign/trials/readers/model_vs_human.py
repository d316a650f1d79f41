"""The raw CSVs of the model-vs-human benchmark (Geirhos et al., 2021).

Header ``subj, Session|session, trial, rt, object_response, category, condition,
imagename``; files named ``<dataset>_<subj>_session_<n>.csv``, the dataset being the
experiment. See :func:`psychoalign.trials.read_trials` (Notes) for how the columns map
onto the trial table.

References
----------
Geirhos, R., Narayanappa, K., Mitzkus, B., Thieringer, T., Bethge, M., Wichmann, F. A.,
& Brendel, W. (2021). Partial success in closing the gap between human and machine
vision. Advances in Neural Information Processing Systems 34.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.trials.readers._cells import parse_numbers
from psychoalign.trials.readers.registry import TrialReader
from psychoalign.trials.schema import _ROW, _SOURCE, MODEL_VS_HUMAN_CATEGORIES

__all__ = ["image_id"]

_MODEL_VS_HUMAN_COLUMNS = (
    "subj",
    "session",
    "trial",
    "rt",
    "object_response",
    "category",
    "condition",
    "imagename",
)


def image_id(imagename: str) -> str:
    """Source-image id at the tail of a model-vs-human ``imagename``.

    Examples
    --------
    >>> image_id("0001_nse_s01_0.03_elephant_10_n02504458_7209.png")
    'n02504458_7209.png'
    >>> image_id("0001_edg_s01_0_oven_00_oven10.png")
    'oven10.png'
    >>> image_id("oven10.png")
    'oven10.png'
    """
    fields = imagename.split("_")
    if len(fields) > 1 and fields[-2].startswith("n0"):
        return f"{fields[-2]}_{fields[-1]}"
    return fields[-1]


def _from_model_vs_human(raw: pd.DataFrame, path: Path, experiment: str | None) -> pd.DataFrame:
    for column in _MODEL_VS_HUMAN_COLUMNS:
        if column not in raw.columns:
            raise TrialDataError(
                f"{path}: column '{column}' is missing; a model-vs-human file has the "
                f"columns {', '.join(_MODEL_VS_HUMAN_COLUMNS)}."
            )
    observers = raw["subj"]
    frame = pd.DataFrame(
        {
            "experiment": experiment or _dataset_prefix(path, raw),
            "observer": observers,
            "observer_kind": np.where(observers.str.startswith("subject-"), "human", "model"),
            "session": parse_numbers(raw, "session", whole=True),
            "trial": parse_numbers(raw, "trial", whole=True),
            "stimulus": raw["imagename"],
            "image": raw["imagename"].map(image_id),
            "condition": _reconciled_conditions(raw, path),
            "category": raw["category"],
            "response": raw["object_response"],
        }
    )
    frame["correct"] = frame["response"] == frame["category"]
    frame["rt"] = parse_numbers(raw, "rt", whole=False)
    return frame.assign(**{_SOURCE: raw[_SOURCE], _ROW: raw[_ROW]})


def _dataset_prefix(path: Path, raw: pd.DataFrame) -> str:
    """The dataset in ``<dataset>_<subj>_session_<n>.csv``."""
    if len(raw) == 0:
        raise TrialDataError(f"{path}: has a header but no trials.")
    suffix = f"_{raw['subj'].iloc[0]}_session_{raw['session'].iloc[0]}"
    if not path.stem.endswith(suffix) or path.stem == suffix:
        raise TrialDataError(
            f"{path}: cannot tell the experiment from the file name; model-vs-human files "
            f"are named <dataset>{suffix}.csv (or pass experiment=...)."
        )
    return path.stem[: -len(suffix)]


def _reconciled_conditions(raw: pd.DataFrame, path: Path) -> pd.Series:
    """Conditions as written; ``0`` for a model file that leaves them all empty."""
    conditions = raw["condition"]
    empty = (conditions == "").to_numpy()
    if empty.all():
        return pd.Series("0", index=raw.index)
    if empty.any():
        row = raw[_ROW].iloc[int(np.flatnonzero(empty)[0])]
        raise TrialDataError(
            f"{path}: row {row}: column 'condition' is empty while other rows of the file "
            "name their condition."
        )
    return conditions


#: Recognised by three columns no other format has; the other five are then required.
READER = TrialReader(
    name="model-vs-human",
    suffixes=(".csv",),
    columns=("subj", "object_response", "imagename"),
    read=_from_model_vs_human,
    categories=MODEL_VS_HUMAN_CATEGORIES,
)
