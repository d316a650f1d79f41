"""Reading model files that may come from anyone: weights, and models saved whole.

A weights file is read with ``torch.load(weights_only=True)``, which rebuilds tensors and
containers only. A model saved whole is read by its kind: TorchScript through
``torch.jit.load`` (its own unpickler knows TorchScript types only; the code in the
archive is TorchScript, run by the TorchScript interpreter, not Python), a torch.export
program with every ``torch.load`` inside forced to ``weights_only`` (torch.export would
otherwise unpickle some contents freely), and a file made by ``torch.save(model)``, a
pickle that runs whatever code it holds when loaded, only with ``trust_pickle``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import torch
from torch import nn

from psychoalign.errors import ModelError

__all__ = ["TRUST_PICKLE", "read_model_file", "read_state_dict"]

#: What a refused pickle is told (load_model's keyword, and the CLI option that sets it).
TRUST_PICKLE = "--trust-pickle (trust_pickle=True)"


def read_model_file(path: Path, *, trust_pickle: bool = False) -> object:
    """A model saved whole: torch.export (.pt2), TorchScript, or (if trusted) a pickled module.

    Parameters
    ----------
    path
        The file.
    trust_pickle
        Let a file made by ``torch.save(model)`` (a pickle, which runs whatever code it
        holds when loaded) load, and a torch.export program whose contents need
        unpickling. TorchScript, and torch.export programs of tensors only, need no trust.

    Returns
    -------
    object
        What the file holds (a module, unless it is a state dict or other tensors).

    Raises
    ------
    psychoalign.errors.ModelError
        One sentence naming the file: not a model file, or a pickle (naming
        ``--trust-pickle``) without ``trust_pickle``. Nothing in the file is run.
    """
    if path.suffix == ".pt2":
        return _read_exported(path, trust_pickle=trust_pickle)
    if _is_torchscript(path):
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated but still readable
                warnings.simplefilter("ignore", FutureWarning)
                return torch.jit.load(str(path), map_location="cpu")
        except Exception as error:  # torch raises many types for a broken archive
            raise ModelError(
                f"{path}: cannot be loaded as a TorchScript model ({_first_line(error)})."
            ) from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a foreign file
        # A pickle refused by the weights-only unpickler holds objects (a module): it is
        # a pickled model. Anything else is not a torch file at all.
        if not (isinstance(error, pickle.UnpicklingError) and _is_pickle(path)):
            raise ModelError(
                f"{path}: cannot be loaded as a pickled, TorchScript or exported model "
                "(it is none of these)."
            ) from None
    if not trust_pickle:
        raise ModelError(_untrusted(path, "is a pickled model"))
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # the pickle names a class that cannot be imported here
        raise ModelError(
            f"{path}: cannot be unpickled as a model ({_first_line(error)})."
        ) from None


def _untrusted(path: Path, what: str) -> str:
    """The refusal of a file that only loads by unpickling, naming ``--trust-pickle``."""
    return (
        f"{path}: {what}, and loading a pickle runs any code it holds; load it with "
        f"{TRUST_PICKLE} only if you trust where it came from, or save the model as "
        "TorchScript or with torch.export instead."
    )


def _read_exported(path: Path, *, trust_pickle: bool) -> nn.Module:
    """A torch.export program; without trust, only if nothing in it needs unpickling.

    torch.export.load unpickles some contents with plain pickle (opaque constants) or
    ``torch.load(weights_only=False)`` (tensors saved as pickles): an untrusted file is
    refused if it has opaque constants, and loaded with every ``torch.load`` forced to
    ``weights_only`` (``TORCH_FORCE_WEIGHTS_ONLY_LOAD``), so a pickle in it is refused.
    """
    if not trust_pickle:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (OSError, zipfile.BadZipFile):
            names = []
        if any(PurePosixPath(name).name.startswith("opaque_obj_") for name in names):
            raise ModelError(_untrusted(path, "holds pickled Python objects"))
    try:
        with contextlib.nullcontext() if trust_pickle else _weights_only_loads():
            return torch.export.load(str(path)).module()
    except pickle.UnpicklingError:
        raise ModelError(_untrusted(path, "holds pickled tensors or objects")) from None
    except Exception as error:  # torch raises many types for a foreign file
        raise ModelError(
            f"{path}: cannot be loaded as a torch.export program ({_first_line(error)})."
        ) from None


@contextlib.contextmanager
def _weights_only_loads() -> Iterator[None]:
    """Force every ``torch.load`` to ``weights_only=True`` while the block runs."""
    names = ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def _first_line(error: BaseException) -> str:
    """The first line of an error's text, without a final full stop (it goes in brackets)."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__).rstrip(".")


def _is_pickle(path: Path) -> bool:
    """Whether ``path`` is a torch.save file: a zip with ``<name>/data.pkl``, or a pickle."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _has_member(archive, "data.pkl")
    except zipfile.BadZipFile:
        pass
    except OSError:
        return False
    with path.open("rb") as handle:
        return handle.read(1) == pickle.PROTO  # the legacy format starts with a pickle


def _is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive: a zip with ``<name>/constants.pkl``."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _has_member(archive, "constants.pkl")
    except (OSError, zipfile.BadZipFile):
        return False


def _has_member(archive: zipfile.ZipFile, name: str) -> bool:
    """Whether the archive holds ``<folder>/<name>`` (torch writes one top folder)."""
    return any(entry.count("/") == 1 and entry.endswith(f"/{name}") for entry in archive.namelist())


def read_state_dict(path: Path, model_name: str) -> dict[str, torch.Tensor]:
    """The state dict in a weights file, read with ``weights_only=True``.

    Parameters
    ----------
    path
        The weights file (a ``{"state_dict": ...}`` checkpoint is unwrapped).
    model_name
        The model it is for, named when the file is missing.

    Returns
    -------
    dict
        Parameter name to tensor.

    Raises
    ------
    psychoalign.errors.ModelError
        Naming the file when it is missing, not a torch file, holds objects besides
        tensors (never unpickled), or holds no dict.
    """
    if not path.is_file():
        raise ModelError(f"{model_name}: weights file {path} does not exist.")
    try:
        # weights_only: tensors and containers only, never an object that runs code.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a corrupt or foreign file
        if isinstance(error, pickle.UnpicklingError) and _is_pickle(path):
            raise ModelError(
                f"{path}: holds Python objects besides tensors, which psychoalign never "
                "unpickles from a weights file (unpickling runs code); save the weights "
                "with torch.save(model.state_dict(), path)."
            ) from None
        raise ModelError(
            f"{path}: cannot be read as PyTorch weights (it is not a file written by torch.save)."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"{path}: holds a {type(state).__name__}, not a state dict of weights.")
    return state
