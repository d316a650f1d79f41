"""Model observers: model zoo, decision mappings, the model observer, feature importance, features.

Needs torch (``pip install 'psychoalign[models]'``); imports only ``stimuli`` and ``trials``
of psychoalign. Evaluating models on stimulus sets into result folders is a workflow:
:func:`psychoalign.workflows.evaluate`.
"""

from psychoalign._deprecated import moved
from psychoalign.models.availability import (
    WEIGHTS_BUNDLED,
    WEIGHTS_CACHED,
    WEIGHTS_MISSING,
    weights_availability,
)
from psychoalign.models.features import activations, check_layers, feature_extractor, layer_names
from psychoalign.models.folding import fold_batch_norms
from psychoalign.models.mappings import (
    ANIMAL_WNID,
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
    resolve_model,
    torchvision_weights_file,
)

__all__ = [
    "ANIMAL_WNID",
    "DEFAULT_MODEL",
    "IMPORTANCE_METHODS",
    "SIZE_HANDLING",
    "WEIGHTS_BUNDLED",
    "WEIGHTS_CACHED",
    "WEIGHTS_MISSING",
    "DecisionMapping",
    "ModelError",
    "ModelObserver",
    "ObserverRun",
    "Preprocessing",
    "VisionModel",
    "activations",
    "animal_mapping",
    "available_models",
    "check_layers",
    "feature_extractor",
    "feature_importance",
    "fold_batch_norms",
    "from_module",
    "get_mapping",
    "identity_mapping",
    "imagenet_16",
    "imagenet_labels",
    "layer_names",
    "load_model",
    "mapping_from_file",
    "resolve_model",
    "torchvision_weights_file",
    "weights_availability",
    "wordnet_mapping",
]

__getattr__ = moved(__name__, {"evaluate": "psychoalign.workflows.evaluation"})
