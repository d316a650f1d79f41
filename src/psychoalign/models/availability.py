"""Which models' weights are on this machine: bundled, in a local cache, or not downloaded.

Only the file system is looked at: no model is built, no weights are read and the
network is never touched, so all names are marked in well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from psychoalign.models.zoo import DEFAULT_MODEL, available_models, torchvision_weights_file

__all__ = ["WEIGHTS_BUNDLED", "WEIGHTS_CACHED", "WEIGHTS_MISSING", "weights_availability"]

#: Weights shipped with psychoalign (the default model).
WEIGHTS_BUNDLED = "bundled"
#: Weights in the torch hub cache (torchvision) or the Hugging Face cache (timm).
WEIGHTS_CACHED = "cached"
#: Weights neither bundled nor cached; psychoalign never downloads them.
WEIGHTS_MISSING = "not downloaded"

_TIMM_PREFIX = "timm:"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")


def _hugging_face_cache() -> Path:
    """The Hugging Face hub cache folder, as ``huggingface_hub`` finds it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "huggingface" / "hub"


def _cached_repositories() -> set[str]:
    """Hub repositories (``timm/resnet50.a1_in1k``) with a weights file in the cache."""
    found = set()
    root = _hugging_face_cache()
    if not root.is_dir():
        return found
    for folder in root.glob("models--*"):
        snapshots = folder / "snapshots"
        if snapshots.is_dir() and any(
            path.suffix in _WEIGHT_SUFFIXES for path in snapshots.glob("*/*")
        ):
            found.add(folder.name.removeprefix("models--").replace("--", "/"))
    return found


def _cached_timm(names: Sequence[str]) -> set[str]:
    """The ``timm:`` names whose default pretrained weights are in the Hugging Face cache."""
    repositories = _cached_repositories()
    if not repositories or not any(name.startswith(_TIMM_PREFIX) for name in names):
        return set()
    import timm.models

    wanted = {name.removeprefix(_TIMM_PREFIX) for name in names if name.startswith(_TIMM_PREFIX)}
    # Only architectures with a cached repository are looked up (the look-up is slow).
    candidates = {timm.models.split_model_name_tag(r.split("/")[-1])[0] for r in repositories}
    cached = set()
    for architecture in sorted(candidates & wanted):
        config = timm.models.get_pretrained_cfg(architecture)
        if config is not None and config.hf_hub_id in repositories:
            cached.add(_TIMM_PREFIX + architecture)
    return cached


def _torchvision_cached(name: str) -> bool:
    try:
        return torchvision_weights_file(name).is_file()
    except (KeyError, ValueError):  # a name torchvision has no weights for
        return False


def weights_availability(names: Sequence[str] | None = None) -> dict[str, str]:
    """Whether each model's weights can be loaded here without a download.

    Parameters
    ----------
    names
        Model names as :func:`~psychoalign.models.load_model` takes them (default:
        :func:`~psychoalign.models.available_models`).

    Returns
    -------
    dict
        Name -> :data:`WEIGHTS_BUNDLED` (``efficientnet_lite0``), :data:`WEIGHTS_CACHED`
        (torchvision: the file ``$TORCH_HOME/hub/checkpoints/<file of the weights URL>``
        exists; ``timm:`` names: the Hugging Face cache holds the default pretrained
        weights) or :data:`WEIGHTS_MISSING`, in the order of ``names``.
    """
    names = list(available_models() if names is None else names)
    cached_timm = _cached_timm(names)
    marks = {}
    for name in names:
        if name == DEFAULT_MODEL:
            marks[name] = WEIGHTS_BUNDLED
        elif name.startswith(_TIMM_PREFIX):
            marks[name] = WEIGHTS_CACHED if name in cached_timm else WEIGHTS_MISSING
        else:
            marks[name] = WEIGHTS_CACHED if _torchvision_cached(name) else WEIGHTS_MISSING
    return marks
