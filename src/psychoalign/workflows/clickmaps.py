"""ClickMe analysis from files: human maps from trial files, model maps and their alignment.

:func:`build_clickmaps` turns the trial files of the ClickMe task into human maps
(``maps.npz``, with a ``maps.json`` sidecar naming the stimulus set, its checksum and the
inputs); :func:`align_clickmaps` computes every model's feature-importance maps on the
same images (captum, at stimulus resolution), aligns them with the human maps, and writes
tables, figures and provenance. Every file is written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psychoalign._io import (
    check_output_file,
    check_output_folder,
    staged_outputs,
    write_text_atomic,
)
from psychoalign.errors import ClickMapError, MissingFileError, PsychoalignError, TrialDataError
from psychoalign.metrics.clickmaps import (
    ClickMaps,
    alignment,
    alignment_summary,
    build_maps,
    click_table,
)
from psychoalign.provenance import provenance, write_outputs
from psychoalign.stimuli import StimulusSet
from psychoalign.trials import find_trial_files, read_trials

__all__ = ["align_clickmaps", "build_clickmaps", "open_human_maps"]

_SIDECAR_SUFFIX = ".json"
# Images per call of the feature-importance methods (bounds memory).
_BATCH = 8
_DESCRIPTIONS = {
    "clickmap_alignment": "Per image: Spearman ρ, Dice and IoU of the top 10 % pixels "
    "between model and human maps, with the human ceiling and floor.",
    "clickmap_summary": "Per model and method: mean ρ (bootstrap CI over images), "
    "ceiling, floor, score = mean ρ / ceiling.",
}


def build_clickmaps(
    trials: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    stimuli: str | os.PathLike[str] | None = None,
    min_participants: int = 1,
    min_clicks: int = 1,
    blur_diameter: float = 21,
) -> ClickMaps:
    """Human ClickMe maps from the task's trial files, saved to ``out`` (``.npz``).

    Parameters
    ----------
    trials
        Trial files or folders of the ``clickme`` experiment.
    out
        The ``.npz`` file to write; ``<out>.json`` records the stimulus set (path and
        checksum), the filters and the input files.
    stimuli
        The stimulus set shown; default: the one the session sidecars name (all sessions
        must name the same).
    min_participants, min_clicks, blur_diameter
        See :func:`psychoalign.metrics.clickmaps.build_maps`.

    Returns
    -------
    ClickMaps
        The maps written to ``out``.

    Raises
    ------
    psychoalign.errors.PsychoalignError
        The trial files have no ``clicks`` column, the sidecars do not name one stimulus
        set, the stimulus set does not verify, or a click or parameter is refused
        (:class:`~psychoalign.errors.ClickMapError`, naming the row or parameter).
    """
    out = check_output_file(Path(out).with_suffix(".npz"), "maps.npz")
    files = find_trial_files(trials)
    table = read_trials(files, keep_location=True)  # click messages name file and row
    if "clicks" not in table.columns:
        raise TrialDataError(
            f"{files[0] if files else trials}: has no 'clicks' column; is it a clickme session?"
        )
    stimulus_set = StimulusSet.open(_named_stimulus_set(files) if stimuli is None else stimuli)
    stimulus_set.verify(raise_errors=True)
    maps = build_maps(
        click_table(_numeric_sizes(table)),
        min_participants=min_participants,
        min_clicks=min_clicks,
        blur_diameter=blur_diameter,
    )
    stimulus_of = table.drop_duplicates("image").set_index("image")["stimulus"]
    record = {
        # absolute: 'clickmaps align' reopens the set from wherever it is run
        "stimulus_set": {**stimulus_set.identity(), "path": str(stimulus_set.path.resolve())},
        "stimuli": [str(stimulus_of[image]) for image in maps.images],
        **provenance(
            files,
            {
                "min_participants": min_participants,
                "min_clicks": min_clicks,
                "blur_diameter": blur_diameter,
            },
        ),
    }
    text = json.dumps(record, indent=2, default=str) + "\n"
    # The sidecar first: a maps file on view always has its sidecar, even after a kill.
    write_text_atomic(out.with_suffix(_SIDECAR_SUFFIX), text)
    maps.save(out)
    return maps


def _named_stimulus_set(trial_files: Sequence[Path]) -> str:
    """The one stimulus set the lab sidecars of ``trial_files`` name (its path)."""
    sets = set()
    for path in trial_files:
        sidecar = path.with_suffix(_SIDECAR_SUFFIX)
        if sidecar.is_file():
            record = _json_file(sidecar, TrialDataError).get("stimulus_set", {})
            if "path" in record:
                sets.add((record["path"], record.get("checksum", "")))
    if len(sets) != 1:
        raise TrialDataError(
            "--stimuli: the session sidecars name "
            + ("no stimulus set" if not sets else f"{len(sets)} stimulus sets")
            + "; give the stimulus set with --stimuli."
        )
    [(path, _)] = sets
    return path


def _numeric_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """``image_height`` and ``image_width`` as numbers where they parse as numbers.

    A cell that does not parse is left as written, for :func:`click_table` to refuse by
    row and column (it also refuses sizes that are not positive whole numbers).
    """
    table = table.copy()
    for column in ("image_height", "image_width"):
        if column in table.columns:
            parsed = pd.to_numeric(table[column], errors="coerce")
            if parsed.notna().all():
                table[column] = parsed
            else:
                table[column] = parsed.astype(object).where(parsed.notna(), table[column])
    return table


def _json_file(path: Path, error: type[PsychoalignError]) -> dict[str, Any]:
    """A JSON object read from ``path``; ``error`` names the file if it is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise error(f"{path}: is not valid JSON ({problem}).") from None
    if not isinstance(record, dict):
        raise error(f"{path}: holds a JSON {type(record).__name__}, not an object.")
    return record


def align_clickmaps(
    maps: str | os.PathLike[str],
    models: Sequence[str],
    out: str | os.PathLike[str],
    *,
    methods: Sequence[str] = ("saliency",),
    mapping: str = "imagenet-16",
    n_splits: int = 50,
    seed: int = 0,
    images_in_figure: int = 6,
    progress: Callable[[str], None] | None = None,
    trust_pickle: bool = False,
) -> pd.DataFrame:
    """Align every model x method's feature-importance maps with the human maps.

    Writes to ``out``: ``clickmap_alignment.csv`` (per image), ``clickmap_summary.csv``
    (per model x method: mean ρ with CI, ceiling, floor, score, Dice, IoU), each with a
    JSON sidecar; ``model_maps.npz``; the figures ``clickmap_grid`` and
    ``clickmap_scores`` (PNG, PDF, SVG, CSV). Returns the summary.

    Parameters
    ----------
    maps
        Maps file written by :func:`build_clickmaps` (its ``.json`` sidecar beside it).
    models
        Model names (see :func:`psychoalign.models.load_model`).
    out
        Output folder.
    methods
        Feature-importance methods (see :func:`psychoalign.models.feature_importance`).
    mapping
        Decision mapping of the model observers; the maps explain the true category.
    n_splits, seed
        See :func:`psychoalign.metrics.clickmaps.alignment`; ``seed`` also seeds the
        bootstrap of :func:`psychoalign.metrics.clickmaps.alignment_summary`.
    images_in_figure
        Images shown in ``clickmap_grid``.
    progress
        Called with ``"<model> <method>"`` before each is computed.
    trust_pickle
        Let model files made by ``torch.save(model)`` load (see
        :func:`psychoalign.models.load_model`).

    Returns
    -------
    pandas.DataFrame
        :func:`psychoalign.metrics.clickmaps.alignment_summary` per ``model, method``.

    Raises
    ------
    psychoalign.errors.PsychoalignError
        The maps file or its sidecar is missing or unreadable, the stimulus set changed
        since the maps were built, or a model, method or parameter is refused.
    """
    from psychoalign.plots.clickmaps import clickmap_grid, clickmap_scores

    for name, values in (("models", models), ("methods", methods)):
        if isinstance(values, str) or not values:
            raise ClickMapError(f"{name}: {values!r} must be a non-empty list of names.")
    out = check_output_folder(out)  # before any map is computed
    human, maps_path, sidecar = open_human_maps(maps)
    images = _stimuli_of(maps_path, sidecar)
    per_image_table, model_maps = _align_models(
        human, images, models, methods, mapping, n_splits, seed, progress, trust_pickle
    )
    summary = alignment_summary(per_image_table.drop(columns="label"), seed=seed)
    record = {
        "human_maps": str(maps_path),
        "stimulus_set": sidecar["stimulus_set"],
        **provenance(
            [maps_path],
            {
                "models": list(models),
                "methods": list(methods),
                "mapping": mapping,
                "n_splits": n_splits,
                "seed": seed,
            },
            packages=("torch", "torchvision", "captum"),
        ),
    }
    # Tables, maps and figures are staged and moved in together: none is ever half there.
    with staged_outputs(out) as staging:
        write_outputs(
            {"clickmap_alignment": per_image_table, "clickmap_summary": summary},
            staging,
            record,
            descriptions=_DESCRIPTIONS,
        )
        np.savez_compressed(
            staging / "model_maps.npz",
            labels=np.array(list(model_maps)),
            **{f"map_{i}": value for i, value in enumerate(model_maps.values())},
        )
        shown = slice(0, min(images_in_figure, len(images)))
        clickmap_grid(
            images[shown],
            human.images[shown],
            human.maps[shown],
            {label: value[shown] for label, value in model_maps.items()},
            staging / "clickmap_grid",
            per_image=per_image_table,
            record=record,
        )
        clickmap_scores(summary, staging / "clickmap_scores", record=record)
    return summary


def open_human_maps(maps: str | os.PathLike[str]) -> tuple[ClickMaps, Path, dict[str, Any]]:
    """The human maps of a maps file made by :func:`build_clickmaps`, checked, and its sidecar.

    Parameters
    ----------
    maps
        The ``.npz`` file (a path without suffix means the ``.npz``).

    Returns
    -------
    tuple
        The :class:`~psychoalign.metrics.clickmaps.ClickMaps`, the ``.npz`` path and its
        ``.json`` sidecar.

    Raises
    ------
    psychoalign.errors.PsychoalignError
        The path has another suffix (a CSV table, say), or the file or its sidecar is
        missing or not one written by ``clickmaps build``.
    """
    path = Path(maps)
    if path.suffix not in ("", ".npz"):
        raise ClickMapError(
            f"{path}: is not a maps file made by 'clickmaps build' (an .npz file with a "
            ".json sidecar beside it)."
        )
    path = path.with_suffix(".npz")
    return ClickMaps.load(path), path, _maps_sidecar(path)


def _maps_sidecar(maps_path: Path) -> dict[str, Any]:
    """The ``.json`` sidecar that :func:`build_clickmaps` wrote beside ``maps_path``."""
    path = maps_path.with_suffix(_SIDECAR_SUFFIX)
    if not path.is_file():
        raise MissingFileError(
            f"{path}: not found; 'clickmaps build' writes it beside {maps_path.name}."
        )
    sidecar = _json_file(path, ClickMapError)
    stimulus_set = sidecar.get("stimulus_set")
    if (
        not isinstance(stimulus_set, dict)
        or not {"path", "checksum"} <= stimulus_set.keys()
        or not isinstance(sidecar.get("stimuli"), list)
    ):
        raise ClickMapError(
            f"{path}: lacks 'stimulus_set' (path, checksum) or 'stimuli'; rebuild the maps "
            "with 'clickmaps build'."
        )
    return sidecar


def _stimuli_of(maps_path: Path, sidecar: dict[str, Any]) -> np.ndarray:
    """The images the maps were built on, (images, height, width, 3), from the verified set."""
    stimulus_set = StimulusSet.open(sidecar["stimulus_set"]["path"])
    if stimulus_set.checksum != sidecar["stimulus_set"]["checksum"]:
        raise TrialDataError(
            f"{stimulus_set.path}: the stimulus set changed since {maps_path} was built "
            "(its checksum differs)."
        )
    stimulus_set.verify(raise_errors=True)
    return np.stack([stimulus_set.load(name) for name in sidecar["stimuli"]])


def _align_models(
    human: ClickMaps,
    images: np.ndarray,
    models: Sequence[str],
    methods: Sequence[str],
    mapping: str,
    n_splits: int,
    seed: int,
    progress: Callable[[str], None] | None,
    trust_pickle: bool = False,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Per-image alignment of every model x method (``label, model, method, ...``) and maps."""
    from psychoalign.models import ModelObserver, feature_importance, load_model

    per_image, model_maps = [], {}
    for model in models:
        loaded = load_model(model, trust_pickle=trust_pickle)
        observer = ModelObserver(loaded, mapping, batch_size=_BATCH)
        for method in methods:
            label = f"{model} {method}"
            if progress is not None:
                progress(label)
            computed = np.concatenate(
                [
                    feature_importance(
                        observer,
                        images[i : i + _BATCH],
                        human.categories[i : i + _BATCH],
                        method=method,
                    )
                    for i in range(0, len(images), _BATCH)
                ]
            )
            model_maps[label] = computed
            rows = alignment(human, computed, n_splits=n_splits, seed=seed)
            rows.insert(0, "method", method)
            rows.insert(0, "model", model)
            rows.insert(0, "label", label)
            per_image.append(rows)
    return pd.concat(per_image, ignore_index=True), model_maps
