"""Real published data bundled with psychoalign (see ``data/README.md`` for licences).

The names of the sets and the folders are known without pandas: the command line reads
them at start-up, and imports :mod:`psychoalign.stimuli` and :mod:`psychoalign.trials`
only when a set or a trial table is opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psychoalign.errors import MissingFileError, StimulusSetError, TrialDataError

if TYPE_CHECKING:
    import pandas as pd

    from psychoalign.stimuli import StimulusSet

__all__ = [
    "BUNDLED_STIMULUS_SETS",
    "MODEL_VS_HUMAN_DATASETS",  # noqa: F822 - from the trial schema on first use (__getattr__)
    "PUBLISHED_STIMULUS_SETS",
    "cache_dir",
    "data_dir",
    "fetched_set_dir",
    "load_model_vs_human",
    "stimulus_set",
]

#: Stimulus sets bundled under ``data/stimulus-sets`` (CC BY 4.0, Geirhos et al. 2019).
BUNDLED_STIMULUS_SETS = ("edge", "silhouette")

#: Published stimulus sets that ``psychoalign datasets fetch NAME`` downloads into the
#: cache, verified against pinned checksums (:mod:`psychoalign.workflows.datasets`).
PUBLISHED_STIMULUS_SETS = ("cue-conflict", "edge", "silhouette")


_DATA_ENVIRONMENT = "PSYCHOALIGN_DATA_DIR"
_CACHE_ENVIRONMENT = "PSYCHOALIGN_CACHE"
#: Where a wheel installs the bundled data (``setup.py`` copies ``data/`` there).
_INSTALLED_DATA = Path(__file__).resolve().parent / "_data"
#: The ``data/`` folder of a source checkout (an editable install reads it in place).
_CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "data"


def _holds_data(folder: Path) -> bool:
    return (folder / "model-vs-human").is_dir()


def data_dir() -> Path:
    """Folder of the bundled data.

    Returns
    -------
    pathlib.Path
        The first of: ``$PSYCHOALIGN_DATA_DIR`` when set (then it must hold the data);
        the data installed with the package (``psychoalign/_data``, from a wheel); the
        ``data/`` folder of the source checkout this package runs from (an editable
        install).

    Raises
    ------
    psychoalign.errors.MissingFileError
        When the chosen folder does not hold the data.

    Examples
    --------
    >>> (data_dir() / "model-vs-human" / "LICENSE").is_file()
    True
    """
    configured = os.environ.get(_DATA_ENVIRONMENT)
    if configured:
        folder = Path(configured)
        if not _holds_data(folder):
            raise MissingFileError(
                f"{_DATA_ENVIRONMENT}: {folder} does not hold the bundled data "
                "(no model-vs-human folder); point it at a copy of psychoalign's data/ folder."
            )
        return folder
    for folder in (_INSTALLED_DATA, _CHECKOUT_DATA):
        if _holds_data(folder):
            return folder
    raise MissingFileError(
        f"the bundled data are neither installed ({_INSTALLED_DATA}) nor in a checkout "
        f"({_CHECKOUT_DATA}); reinstall psychoalign (pip install psychoalign, or pip "
        f"install -e . in its checkout) or set {_DATA_ENVIRONMENT} to its data/ folder."
    )


def load_model_vs_human(datasets: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Human trials of the model-vs-human benchmark, as one validated trial table.

    Parameters
    ----------
    datasets
        One dataset name, several, or None for all 17 (:data:`MODEL_VS_HUMAN_DATASETS`).

    Returns
    -------
    pandas.DataFrame
        The trial table (see :func:`psychoalign.trials.read_trials`): 85,120 trials of
        90 sessions for all datasets; every observer of a dataset saw the same images
        (checked: ``paired=True``).

    References
    ----------
    .. [1] Geirhos, Narayanappa, Mitzkus, Thieringer, Bethge, Wichmann & Brendel (2021).
       Partial success in closing the gap between human and machine vision. NeurIPS.
       Data: https://github.com/bethgelab/model-vs-human (MIT licence).

    Examples
    --------
    >>> trials = load_model_vs_human("uniform-noise")
    >>> trials.groupby("condition").correct.mean().round(3).tolist()
    [0.797, 0.834, 0.764, 0.77, 0.647, 0.398, 0.148, 0.07]
    """
    from psychoalign.trials import read_trials
    from psychoalign.trials.schema import MODEL_VS_HUMAN_DATASETS

    if datasets is None:
        names = list(MODEL_VS_HUMAN_DATASETS)
    elif isinstance(datasets, str):
        names = [datasets]
    else:
        names = list(datasets)
    unknown = [name for name in names if name not in MODEL_VS_HUMAN_DATASETS]
    if unknown:
        raise TrialDataError(
            f"datasets: '{unknown[0]}' is not a model-vs-human dataset; choose from "
            f"{', '.join(MODEL_VS_HUMAN_DATASETS)}."
        )
    root = data_dir() / "model-vs-human" / "human-raw"
    return read_trials([root / name for name in names], paired=True)


def cache_dir(cache: str | os.PathLike[str] | None = None) -> Path:
    """Folder where fetched published stimulus sets and their downloads are kept.

    Parameters
    ----------
    cache
        A folder to use instead of the default.

    Returns
    -------
    pathlib.Path
        ``cache`` when given, else ``$PSYCHOALIGN_CACHE`` when set, else the user cache
        folder of the operating system (``pooch.os_cache("psychoalign")``, e.g.
        ``~/.cache/psychoalign`` on Linux). The folder need not exist yet.
    """
    if cache is not None:
        return Path(cache)
    configured = os.environ.get(_CACHE_ENVIRONMENT)
    if configured:
        return Path(configured)
    # pooch (and the requests it imports) only when the default is needed.
    import pooch

    return Path(pooch.os_cache("psychoalign"))


def fetched_set_dir(name: str, *, cache: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the published stimulus set ``name`` once fetched (see :func:`cache_dir`)."""
    return cache_dir(cache) / "stimulus-sets" / name


def stimulus_set(name: str) -> StimulusSet:
    """Open a bundled stimulus set, or a published one fetched into the cache.

    The bundled sets, ``edge`` and ``silhouette``, are the real stimuli of the
    model-vs-human ``edge`` and ``silhouette`` datasets (160 images each, 10 per
    category, 224 x 224 px). The published sets (:data:`PUBLISHED_STIMULUS_SETS`, e.g.
    the 1,280 ``cue-conflict`` images) are opened from :func:`fetched_set_dir` once
    ``psychoalign datasets fetch NAME`` has downloaded them. Their ``image`` ids are
    those of the bundled human trials, so model runs on them join the human data on
    ``image``. A bundled set is preferred to a fetched copy of the same name.

    Raises
    ------
    psychoalign.errors.StimulusSetError
        When ``name`` is neither bundled nor published, or is published but not fetched.

    References
    ----------
    .. [1] Geirhos, Rubisch, Michaelis, Bethge, Wichmann & Brendel (2019). ImageNet-trained
       CNNs are biased towards texture; increasing shape bias improves accuracy and
       robustness. ICLR. Stimuli: github.com/rgeirhos/texture-vs-shape (CC BY 4.0).

    Examples
    --------
    >>> edge = stimulus_set("edge")
    >>> set(edge.manifest.image) == set(load_model_vs_human("edge").image)
    True
    """
    from psychoalign.stimuli import StimulusSet

    if name in BUNDLED_STIMULUS_SETS:
        return StimulusSet.open(data_dir() / "stimulus-sets" / name)
    if name not in PUBLISHED_STIMULUS_SETS:
        known = sorted(set(BUNDLED_STIMULUS_SETS) | set(PUBLISHED_STIMULUS_SETS))
        raise StimulusSetError(
            f"name: '{name}' is neither a bundled nor a published stimulus set; choose from "
            f"{', '.join(known)}."
        )
    folder = fetched_set_dir(name)
    if not (folder / "manifest.csv").is_file():
        raise StimulusSetError(
            f"name: the published stimulus set '{name}' is not in the cache ({folder}); "
            f"download it with `psychoalign datasets fetch {name}`."
        )
    return StimulusSet.open(folder)


def __getattr__(name: str) -> Any:
    """:data:`MODEL_VS_HUMAN_DATASETS` lives with the trial schema (numpy and pandas)."""
    if name == "MODEL_VS_HUMAN_DATASETS":
        from psychoalign.trials.schema import MODEL_VS_HUMAN_DATASETS

        return MODEL_VS_HUMAN_DATASETS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
