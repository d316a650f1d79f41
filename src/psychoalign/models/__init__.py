"""Model observers: model zoo, decision mappings, evaluation, feature importance, features.

Needs torch (``pip install 'psychoalign[models]'``); never imports ``lab``, ``plots`` or
``metrics``.
"""

from psychoalign.models.evaluate import evaluate
from psychoalign.models.features import activations, layer_names
from psychoalign.models.mappings import (
    DecisionMapping,
    animal_mapping,
    get_mapping,
    identity_mapping,
    imagenet_16,
    mapping_from_file,
    wordnet_mapping,
)
from psychoalign.models.observer import SIZE_HANDLING, ModelObserver, ObserverRun
from psychoalign.models.saliency import IMPORTANCE_METHODS, feature_importance
from psychoalign.models.zoo import (
    DEFAULT_MODEL,
    ModelError,
    Preprocessing,
    VisionModel,
    available_models,
    from_module,
    imagenet_labels,
    load_model,
)

__all__ = [
    "DEFAULT_MODEL",
    "IMPORTANCE_METHODS",
    "SIZE_HANDLING",
    "DecisionMapping",
    "ModelError",
    "ModelObserver",
    "ObserverRun",
    "Preprocessing",
    "VisionModel",
    "activations",
    "animal_mapping",
    "available_models",
    "evaluate",
    "feature_importance",
    "from_module",
    "get_mapping",
    "identity_mapping",
    "imagenet_16",
    "imagenet_labels",
    "layer_names",
    "load_model",
    "mapping_from_file",
    "wordnet_mapping",
]
