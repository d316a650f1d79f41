"""Sweep plans: which models, stimulus sets and tasks a sweep computes, and where it runs.

A plan is a YAML file (:func:`read_plan`) or the options of ``psychoalign sweep``
(:func:`plan_from_options`); either becomes a :class:`SweepPlan`, a list of
:class:`SweepUnit` s (model x set x task x layer x chunk) and the cluster to run them on.

Examples
--------
A plan file::

    out: results/sweep
    models: [efficientnet_lite0, resnet50]
    stimuli: [edge, silhouette]
    tasks:
      evaluate: {mapping: imagenet-16}
      activations: {layers: [_blocks.3, _fc]}
      metamers: {layers: [_blocks.3], images: 8, chunk_size: 2, rounds: 8}
    cluster:
      kind: slurm
      workers: 4
      resources: {cores: 4, memory: 16GiB, gpus: 1, walltime: "04:00:00"}
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from psychoalign.errors import ParameterError, PsychoalignError

if TYPE_CHECKING:
    from psychoalign.stimuli import StimulusSet
    from psychoalign.workflows._clusters import ClusterResources

__all__ = [
    "SWEEP_TASKS",
    "SweepPlan",
    "SweepPlanError",
    "SweepUnit",
    "plan_from_options",
    "read_plan",
]

#: Task kinds of a sweep and the settings each takes in a plan file.
SWEEP_TASKS: dict[str, tuple[str, ...]] = {
    "evaluate": ("mapping", "batch_size", "size_handling", "device"),
    "feature_importance": ("method", "mapping", "size_handling", "device"),
    "activations": ("layers", "batch_size", "size_handling", "device"),
    "metamers": (
        "layers",
        "images",
        "chunk_size",
        "rounds",
        "steps_per_round",
        "step_size",
        "seed",
        "mapping",
        "null_pairs",
        "device",
    ),
}
#: Settings of a plan file's ``cluster`` section (``resources`` as ClusterResources).
CLUSTER_SETTINGS = ("kind", "workers", "scheduler", "gpus", "resources")
RESOURCES = ("cores", "memory", "gpus", "walltime", "queue", "extra_directives", "jobs")
PLAN_SETTINGS = ("out", "models", "stimuli", "tasks", "cluster")
CLUSTERS = ("local", "slurm", "pbs", "sge")
#: Tasks whose units are one per layer.
LAYERED = ("activations", "metamers")


class SweepPlanError(ParameterError):
    """A sweep plan (file or options) that cannot be run; the message names the setting."""


@dataclass(frozen=True)
class SweepUnit:
    """One unit of a sweep: a model x stimulus set x task (x layer x image chunk).

    Attributes
    ----------
    task
        ``evaluate``, ``feature_importance``, ``activations`` or ``metamers``.
    model
        Model name (:func:`~psychoalign.models.load_model`).
    stimuli
        Stimulus set folder, or a bundled or fetched set's name.
    layer
        Layer name (``activations`` and ``metamers``), else None.
    method
        Feature-importance method (``feature_importance``), else None.
    chunk
        ``(start, stop)`` of the image indices, in manifest order (``metamers``), else None.
    options
        The task's other settings (``mapping``, ``batch_size``, ``rounds`` ...).
    """

    task: str
    model: str
    stimuli: str
    layer: str | None = None
    method: str | None = None
    chunk: tuple[int, int] | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """A readable, unique name: ``task/set/model[/layer][/method][/start-stop]``."""
        parts = [self.task, Path(self.stimuli).name, self.model]
        parts += [part for part in (self.layer, self.method) if part is not None]
        if self.chunk is not None:
            parts.append(f"images-{self.chunk[0]}-{self.chunk[1]}")
        return "/".join(parts)


@dataclass(frozen=True)
class SweepPlan:
    """Units to compute, the folder they go to, and the cluster they run on.

    Attributes
    ----------
    units
        The units, in plan order (models, then sets, then tasks, layers and chunks).
    out
        Results folder.
    cluster
        ``local`` (default), ``slurm``, ``pbs`` or ``sge``.
    scheduler
        Address of a running Dask scheduler (``tcp://HOST:PORT``), used instead.
    workers
        Worker processes (local) or jobs' workers to start.
    resources
        Job resources of a batch cluster
        (:class:`~psychoalign.workflows._clusters.ClusterResources`).
    gpus
        One worker per GPU on a local cluster.
    """

    units: tuple[SweepUnit, ...]
    out: Path
    cluster: str = "local"
    scheduler: str | None = None
    workers: int = 1
    resources: ClusterResources | None = None
    gpus: bool = False


def open_stimuli(source: str | os.PathLike[str]) -> StimulusSet:
    """A saved set's folder, or a bundled or fetched published set by its name."""
    from psychoalign.datasets import BUNDLED_STIMULUS_SETS, PUBLISHED_STIMULUS_SETS, stimulus_set
    from psychoalign.stimuli import StimulusSet

    name = str(source)
    if Path(source).exists() or name not in {*BUNDLED_STIMULUS_SETS, *PUBLISHED_STIMULUS_SETS}:
        return StimulusSet.open(source)
    return stimulus_set(name)


def _nearest(name: str, known: Sequence[str]) -> str:
    """``; did you mean 'x'?`` for the closest known name, else the list of known names."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.startswith(name) or name.startswith(k)][:1]
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; the choices are {', '.join(known)}."


def _refuse_unknown(
    settings: Mapping[str, Any], known: Sequence[str], where: str, section: str = ""
) -> None:
    """Refuse the first key of ``settings`` not in ``known``, naming the nearest valid one.

    ``where`` names the plan file (or the options) and ``section`` the settings' place in
    it (``tasks.metamers``; empty at the top).
    """
    for key in settings:
        if key not in known:
            path = f"{section}.{key}" if section else str(key)
            raise SweepPlanError(
                f"{where}: '{path}' is not a sweep plan setting{_nearest(str(key), known)}"
            )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SweepPlanError(f"{where} must hold a mapping of settings, not {value!r}.")
    return dict(value)


def _names(value: Any, where: str) -> list[str]:
    """A list of names (a single name is one item); refused when empty or not names."""
    names = [value] if isinstance(value, str | os.PathLike) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise SweepPlanError(f"{where} must be a name or a non-empty list of names, not {value!r}.")
    return [str(n) for n in names]


def _whole(value: Any, minimum: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweepPlanError(
            f"{where} must be a whole number of at least {minimum}, not {value!r}."
        )
    return value


def _chunks(settings: dict[str, Any], stimuli: str, where: str) -> list[tuple[int, int]]:
    """Image chunks ``(start, stop)`` of a metamer task over the first ``images`` images.

    Each chunk is a metamer set with its own null distribution, which needs pairs of
    images: chunks hold at least two, a last one of a single image joins the one before.
    """
    available = len(open_stimuli(stimuli))
    images = settings.pop("images", None)
    images = available if images is None else _whole(images, 2, f"{where}.images")
    if images > available:
        raise SweepPlanError(
            f"{where}.images: {images} images asked, but set '{stimuli}' has {available}."
        )
    size = _whole(settings.pop("chunk_size", images), 2, f"{where}.chunk_size")
    chunks = [(start, min(start + size, images)) for start in range(0, images, size)]
    if chunks[-1][1] - chunks[-1][0] == 1:
        chunks[-2:] = [(chunks[-2][0], images)]
    return chunks


def _task_units(task: str, settings: dict[str, Any], model: str, stimuli: str, where: str):
    """The units of one task for one model x set."""
    settings = dict(settings)
    layers: list[str | None] = [None]
    if task in LAYERED:
        layers = list(_names(settings.pop("layers", None), f"{where}.layers"))
    chunks: list[tuple[int, int] | None] = [None]
    if task == "metamers":
        chunks = list(_chunks(settings, stimuli, where))
    method = str(settings.pop("method", "saliency")) if task == "feature_importance" else None
    for layer in layers:
        for chunk in chunks:
            yield SweepUnit(task, model, stimuli, layer, method, chunk, settings)


def _units(
    models: list[str], stimuli: list[str], tasks: Mapping[str, Any], where: str
) -> tuple[SweepUnit, ...]:
    if not tasks:
        raise SweepPlanError(
            f"{where}: 'tasks' names no task; give one of {', '.join(SWEEP_TASKS)}."
        )
    for task, settings in tasks.items():
        if task not in SWEEP_TASKS:
            nearest = _nearest(str(task), list(SWEEP_TASKS))
            raise SweepPlanError(f"{where}: task '{task}' is not a sweep task{nearest}")
        _refuse_unknown(
            _mapping(settings, f"{where}: tasks.{task}"), SWEEP_TASKS[task], where, f"tasks.{task}"
        )
    units = [
        unit
        for model in models
        for stimulus_set in stimuli
        for task, settings in tasks.items()
        for unit in _task_units(
            task, _mapping(settings, task), model, stimulus_set, f"{where}: tasks.{task}"
        )
    ]
    return tuple(dict.fromkeys(units))  # a model or set named twice runs once


def _resources(settings: Any, where: str) -> ClusterResources | None:
    """The job resources of a ``cluster.resources`` section; None when there is none."""
    if settings is None:
        return None
    from psychoalign.workflows._clusters import ClusterResources

    settings = _mapping(settings, f"{where}: cluster.resources")
    _refuse_unknown(settings, RESOURCES, where, "cluster.resources")
    try:
        return ClusterResources(**settings)
    except PsychoalignError as error:
        raise SweepPlanError(f"{where}: cluster.{error}") from None


def _plan(
    models: Any,
    stimuli: Any,
    tasks: Mapping[str, Any],
    out: Any,
    cluster: Mapping[str, Any],
    where: str,
) -> SweepPlan:
    """A checked plan from its parts; ``where`` names the file or the options."""
    kind = cluster.get("kind", "local") or "local"
    if kind not in CLUSTERS:
        raise SweepPlanError(f"{where}: cluster kind '{kind}' is not one of {', '.join(CLUSTERS)}.")
    if out is None:
        raise SweepPlanError(f"{where}: 'out' is missing; name the results folder.")
    return SweepPlan(
        units=_units(
            _names(models, f"{where}: models"), _names(stimuli, f"{where}: stimuli"), tasks, where
        ),
        out=Path(out),
        cluster=kind,
        scheduler=cluster.get("scheduler"),
        workers=_whole(cluster.get("workers", 1), 1, f"{where}: cluster.workers"),
        resources=_resources(cluster.get("resources"), where),
        gpus=bool(cluster.get("gpus", False)),
    )


def read_plan(path: str | os.PathLike[str], cluster: Mapping[str, Any] | None = None) -> SweepPlan:
    """Read a sweep plan from a YAML file.

    Parameters
    ----------
    path
        The plan: ``models``, ``stimuli``, ``out`` and ``tasks`` (task kind -> its
        settings, :data:`SWEEP_TASKS`), and optionally ``cluster`` (``kind, workers, scheduler,
        gpus, resources``). A relative ``out`` is relative to the current folder.
    cluster
        Cluster settings that replace the file's (``psychoalign sweep PLAN --workers 4``
        runs the plan's units on 4 local workers), checked as the file's are.

    Returns
    -------
    SweepPlan
        The plan.

    Raises
    ------
    SweepPlanError
        For a file that cannot be read, is not YAML, or holds a setting that does not
        exist (named with the nearest one that does) or a value that cannot be used.
    """
    path = Path(path)
    try:
        content = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SweepPlanError(f"{path}: sweep plan not found.") from None
    except OSError as error:
        raise SweepPlanError(f"{path}: the sweep plan cannot be read ({error.strerror}).") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark else ""
        raise SweepPlanError(f"{path}: is not valid YAML{line}.") from None
    where = str(path)
    plan = _mapping(content, where)
    _refuse_unknown(plan, PLAN_SETTINGS, where)
    settings = _mapping(plan.get("cluster"), f"{where}: cluster")
    _refuse_unknown(settings, CLUSTER_SETTINGS, where, "cluster")
    settings = {**settings, **(cluster or {})}
    tasks = _mapping(plan.get("tasks"), f"{where}: tasks")
    return _plan(plan.get("models"), plan.get("stimuli"), tasks, plan.get("out"), settings, where)


def plan_from_options(
    models: Sequence[str],
    stimuli: Sequence[str | os.PathLike[str]],
    tasks: Sequence[str] | Mapping[str, Mapping[str, Any]],
    out: str | os.PathLike[str],
    *,
    cluster: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    resources: ClusterResources | None = None,
    gpus: bool = False,
) -> SweepPlan:
    """A sweep plan without a file: every model on every set, for each task.

    Parameters
    ----------
    models, stimuli
        Model names, and stimulus set folders or names.
    tasks
        Task kinds (with their default settings), or task kind -> its settings.
    out
        Results folder.
    cluster, workers, scheduler, resources, gpus
        Where the units run (see :class:`SweepPlan`).

    Returns
    -------
    SweepPlan
        The plan.
    """
    where = "options"
    settings = {t: {} for t in tasks} if not isinstance(tasks, Mapping) else dict(tasks)
    plan = _plan(
        list(models),
        [str(s) for s in stimuli],
        settings,
        out,
        {"kind": cluster, "workers": workers, "scheduler": scheduler, "gpus": gpus},
        where,
    )
    if resources is None:
        return plan
    return SweepPlan(
        plan.units, plan.out, plan.cluster, plan.scheduler, plan.workers, resources, plan.gpus
    )
