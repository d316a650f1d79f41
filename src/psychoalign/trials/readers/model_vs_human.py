"""The raw CSVs of the Wichmann lab's experiments: model-vs-human, Geirhos 2018 and 2019.

One format serves three published studies: model-vs-human (Geirhos et al. 2021, its
human files and the model files it publishes), the human files of "Generalisation in
humans and deep neural networks" (Geirhos et al. 2018; its CNN files add probability
columns and have a reader of their own, :mod:`~psychoalign.trials.readers.geirhos2018`)
and the raw data of texture-vs-shape (Geirhos et al. 2019: humans and CNNs in the same
files).

Header ``subj, Session|session, trial, rt, object_response, category, condition,
imagename``; files named ``<experiment>_<subj>_session_<n>.csv`` (humans) or
``<experiment>_<subj>_session-<n>.csv`` (model-vs-human's model files, whose ``subj`` in
the name has hyphens where the ``subj`` column has underscores:
``edge_simclr-resnet50x1_session-1.csv`` holds ``simclr_resnet50x1``).

How the columns become the trial table:

- ``experiment``: the file-name prefix; when the name does not have this form, the
  folder, if it is the name of a published experiment (:data:`PUBLISHED_EXPERIMENTS`).
  When both are known they must agree. ``experiment=`` overrides both.
- ``observer``: ``subj`` as the column writes it; ``subject-NN`` is a human, anything
  else a model. A file name naming another observer than the column is an error.
- ``session``: the ``session`` column. A file name whose session differs (Geirhos 2018:
  ``colour-experiment_subject-03_session_1.csv`` holds session 3) is accepted, and
  noted (``trials.attrs["read_notes"]``).
- ``stimulus``: ``imagename`` as written (it embeds subject and trial number);
  ``image``: its tail, the id of the source image shared by all observers
  (:func:`image_id`).
- ``condition``: as written (``0.90``, ``true``, ``c05``). Model files write ``NaN``
  (or leave it empty) in single-condition datasets (edge, silhouette, sketch, stylized,
  cue-conflict) where the human files write ``0``; a file whose conditions are all
  missing is read with condition ``0``, so that models and humans join (and this is
  noted). A file with only some conditions missing is an error.
- ``response``: ``object_response`` (``na``: no answer); ``rt`` in seconds, ``NaN`` for
  models. Other columns of the file are kept as text.

References
----------
Geirhos, R., Temme, C. R. M., Rauber, J., Schütt, H. H., Bethge, M., & Wichmann, F. A.
(2018). Generalisation in humans and deep neural networks. NeurIPS 31.

Geirhos, R., Rubisch, P., Michaelis, C., Bethge, M., Wichmann, F. A., & Brendel, W.
(2019). ImageNet-trained CNNs are biased towards texture; increasing shape bias improves
accuracy and robustness. ICLR.

Geirhos, R., Narayanappa, K., Mitzkus, B., Thieringer, T., Bethge, M., Wichmann, F. A.,
& Brendel, W. (2021). Partial success in closing the gap between human and machine
vision. Advances in Neural Information Processing Systems 34.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.errors import TrialDataError
from psychoalign.trials.readers._cells import parse_numbers
from psychoalign.trials.readers.registry import ReadContext, TrialReader
from psychoalign.trials.schema import _ROW, MODEL_VS_HUMAN_CATEGORIES, MODEL_VS_HUMAN_DATASETS

__all__ = ["PUBLISHED_EXPERIMENTS", "image_id", "read_model_vs_human"]

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


def read_model_vs_human(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.DataFrame:
    """The trial table of one file of this format (see the module docstring)."""
    for column in _MODEL_VS_HUMAN_COLUMNS:
        if column not in raw.columns:
            raise TrialDataError(
                f"{path}: column '{column}' is missing; a model-vs-human file has the "
                f"columns {', '.join(_MODEL_VS_HUMAN_COLUMNS)}."
            )
    if len(raw) == 0:
        raise TrialDataError(f"{path}: has a header but no trials.")
    observers = raw["subj"]
    frame = pd.DataFrame(
        {
            "experiment": context.experiment or _experiment(path, raw, context),
            "observer": observers,
            "observer_kind": np.where(observers.str.startswith("subject-"), "human", "model"),
            "session": parse_numbers(raw, "session", whole=True),
            "trial": parse_numbers(raw, "trial", whole=True),
            "stimulus": raw["imagename"],
            "image": raw["imagename"].map(image_id),
            "condition": _reconciled_conditions(raw, path, context),
            "category": raw["category"],
            "response": raw["object_response"],
        }
    )
    frame["correct"] = frame["response"] == frame["category"]
    frame["rt"] = parse_numbers(raw, "rt", whole=False)
    extra = [c for c in raw.columns if c not in _MODEL_VS_HUMAN_COLUMNS]
    return pd.concat([frame, raw[extra]], axis=1)


#: Experiments of the published studies in this format: a folder of one of these names
#: holds files of that experiment (model-vs-human's datasets, Geirhos 2018's experiments,
#: texture-vs-shape's cue-conflict experiment).
PUBLISHED_EXPERIMENTS = frozenset(
    {
        *MODEL_VS_HUMAN_DATASETS,
        "colour-experiment",
        "contrast-experiment",
        "contrast-png-experiment",
        "eidolon-experiment",
        "false-colour-experiment",
        "highpass-experiment",
        "lowpass-experiment",
        "noise-experiment",
        "phase-scrambling-experiment",
        "power-equalisation-experiment",
        "rotation-experiment",
        "style-transfer-512-nomask-experiment",
    }
)

_FILE_NAME = re.compile(r"^(?P<rest>.+)_session[-_](?P<session>\d+)$")


def _experiment(path: Path, raw: pd.DataFrame, context: ReadContext) -> str:
    """The experiment from the file-name prefix or the folder, checked against each other."""
    folder = path.parent.name if path.parent.name in PUBLISHED_EXPERIMENTS else None
    named = _FILE_NAME.match(path.stem)
    if named is None:
        if folder is None:
            raise TrialDataError(
                f"{path}: cannot tell the experiment from the file name; model-vs-human files "
                f"are named <experiment>_{raw['subj'].iloc[0]}_session_<n>.csv (or pass "
                "experiment=...)."
            )
        return folder
    observer, session = raw["subj"].iloc[0], raw["session"].iloc[0]
    rest = named.group("rest")
    # File names write the observer with hyphens (and in their own case) where the subj
    # column has underscores: edge_simclr-resnet50x1_session-1.csv holds simclr_resnet50x1.
    ending = f"_{observer}"
    if not (_spelling(rest).endswith(_spelling(ending)) and len(rest) > len(ending)):
        raise TrialDataError(
            f"{path}: the file name does not name the observer of its 'subj' column "
            f"('{observer}'); model-vs-human files are named "
            f"<experiment>_{observer.replace('_', '-')}_session_<n>.csv."
        )
    prefix = rest[: -len(ending)]
    if folder is not None and folder != prefix:
        raise TrialDataError(
            f"{path}: the file name says experiment '{prefix}' but its folder is that of "
            f"experiment '{folder}'; rename one, or pass experiment=..."
        )
    if named.group("session").lstrip("0") != session.lstrip("0"):
        context.note(
            path,
            f"the file name says session {named.group('session')} but its session column "
            f"says {session}; the column's session is used.",
        )
    return prefix


def _spelling(name: str) -> str:
    """A name as file names and ``subj`` columns both spell it."""
    return name.replace("_", "-").lower()


_MISSING_CONDITION = ("", "NaN", "nan", "NA")


def _reconciled_conditions(raw: pd.DataFrame, path: Path, context: ReadContext) -> pd.Series:
    """Conditions as written; ``0`` for a model file that leaves them all missing."""
    conditions = raw["condition"]
    missing = conditions.isin(_MISSING_CONDITION).to_numpy()
    if missing.all():
        context.note(
            path,
            f"column 'condition' is '{conditions.iloc[0]}' in every row, as model files of "
            "single-condition datasets write it; read as condition '0', the human files' "
            "label.",
        )
        return pd.Series("0", index=raw.index)
    if missing.any():
        row = raw[_ROW].iloc[int(np.flatnonzero(missing)[0])]
        raise TrialDataError(
            f"{path}: row {row}: column 'condition' is missing while other rows of the file "
            "name their condition."
        )
    return conditions


#: Recognised by three columns no other format has; the other five are then required.
READER = TrialReader(
    name="model-vs-human",
    suffixes=(".csv",),
    columns=("subj", "object_response", "imagename"),
    read=read_model_vs_human,
    categories=MODEL_VS_HUMAN_CATEGORIES,
)
