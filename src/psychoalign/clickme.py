"""ClickMe analysis from files: human maps from trial files, model maps and their alignment.

``build`` turns the trial files of the ClickMe task into human maps (``maps.npz``, with a
``maps.json`` sidecar naming the stimulus set, its checksum and the inputs); ``align``
computes every model's feature-importance maps on the same images (captum, at stimulus
resolution), aligns them with the human maps, and writes tables, figures and provenance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from psychoalign.metrics.clickmaps import (
    ClickMaps,
    alignment,
    alignment_summary,
    build_maps,
    click_table,
)
from psychoalign.provenance import provenance, write_outputs
from psychoalign.stimuli import StimulusSet
from psychoalign.trials import TrialDataError, find_trial_files, read_trials

__all__ = ["align_clickmaps", "build_clickmaps"]

_SIDECAR_SUFFIX = ".json"


def _stimulus_sets(trial_files: Sequence[Path]) -> set[tuple[str, str]]:
    """(path, checksum) of the stimulus sets named by the lab sidecars of ``trial_files``."""
    sets = set()
    for path in trial_files:
        sidecar = path.with_suffix(_SIDECAR_SUFFIX)
        if sidecar.is_file():
            record = json.loads(sidecar.read_text()).get("stimulus_set", {})
            if "path" in record:
                sets.add((record["path"], record.get("checksum", "")))
    return sets


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
    """
    files = find_trial_files(trials)
    table = read_trials(files)
    if "clicks" not in table.columns:
        raise TrialDataError(
            f"{files[0] if files else trials}: has no 'clicks' column; is it a clickme session?"
        )
    if stimuli is None:
        sets = _stimulus_sets(files)
        if len(sets) != 1:
            raise TrialDataError(
                "--stimuli: the session sidecars name "
                + ("no stimulus set" if not sets else f"{len(sets)} stimulus sets")
                + "; give the stimulus set with --stimuli."
            )
        [(stimuli, _)] = sets
    stimulus_set = StimulusSet.open(stimuli)
    stimulus_set.verify(raise_errors=True)
    for column in ("image_height", "image_width"):
        table[column] = pd.to_numeric(table[column]).astype(int)
    maps = build_maps(
        click_table(table),
        min_participants=min_participants,
        min_clicks=min_clicks,
        blur_diameter=blur_diameter,
    )
    out = Path(out).with_suffix(".npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    maps.save(out)
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
    sidecar = out.with_suffix(_SIDECAR_SUFFIX)
    staging = sidecar.with_name(f".{sidecar.name}.tmp")
    staging.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(staging, sidecar)
    return maps


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
) -> pd.DataFrame:
    """Align every model x method's feature-importance maps with the human maps.

    Writes to ``out``: ``clickmap_alignment.csv`` (per image), ``clickmap_summary.csv``
    (per model x method: mean ρ with CI, ceiling, floor, score, Dice, IoU), each with a
    JSON sidecar; ``model_maps.npz``; the figures ``clickmap_grid`` and
    ``clickmap_scores`` (PNG, PDF, SVG, CSV). Returns the summary.
    """
    from psychoalign.models import ModelObserver, feature_importance
    from psychoalign.plots.clickmaps import clickmap_grid, clickmap_scores

    maps_path = Path(maps).with_suffix(".npz")
    human = ClickMaps.load(maps_path)
    sidecar = json.loads(maps_path.with_suffix(_SIDECAR_SUFFIX).read_text())
    stimulus_set = StimulusSet.open(sidecar["stimulus_set"]["path"])
    if stimulus_set.checksum != sidecar["stimulus_set"]["checksum"]:
        raise TrialDataError(
            f"{stimulus_set.path}: the stimulus set changed since {maps_path} was built "
            "(its checksum differs)."
        )
    stimulus_set.verify(raise_errors=True)
    images = np.stack([stimulus_set.load(name) for name in sidecar["stimuli"]])
    per_image, model_maps = [], {}
    for model in models:
        observer = ModelObserver(model, mapping, batch_size=8)
        for method in methods:
            label = f"{model} {method}"
            if progress is not None:
                progress(label)
            computed = np.concatenate(
                [
                    feature_importance(
                        observer, images[i : i + 8], human.categories[i : i + 8], method=method
                    )
                    for i in range(0, len(images), 8)
                ]
            )
            model_maps[label] = computed
            rows = alignment(human, computed, n_splits=n_splits, seed=seed)
            rows.insert(0, "method", method)
            rows.insert(0, "model", model)
            rows.insert(0, "label", label)
            per_image.append(rows)
    per_image_table = pd.concat(per_image, ignore_index=True)
    summary = alignment_summary(per_image_table.drop(columns="label"), seed=seed)
    out = Path(out)
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
    write_outputs(
        {"clickmap_alignment": per_image_table, "clickmap_summary": summary},
        out,
        record,
        descriptions={
            "clickmap_alignment": "Per image: Spearman ρ, Dice and IoU of the top 10 % pixels "
            "between model and human maps, with the human ceiling and floor.",
            "clickmap_summary": "Per model and method: mean ρ (bootstrap CI over images), "
            "ceiling, floor, score = mean ρ / ceiling.",
        },
    )
    staging = out / ".model_maps.tmp.npz"
    np.savez_compressed(
        staging,
        labels=np.array(list(model_maps)),
        **{f"map_{i}": value for i, value in enumerate(model_maps.values())},
    )
    os.replace(staging, out / "model_maps.npz")
    shown = slice(0, min(images_in_figure, len(images)))
    clickmap_grid(
        images[shown],
        human.images[shown],
        human.maps[shown],
        {label: value[shown] for label, value in model_maps.items()},
        out / "clickmap_grid",
        per_image=per_image_table,
        record=record,
    )
    clickmap_scores(summary, out / "clickmap_scores", record=record)
    return summary
