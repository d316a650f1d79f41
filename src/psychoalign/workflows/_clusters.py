"""Where a sweep runs: a local cluster, a running scheduler, a batch queue, or one worker per GPU.

:func:`open_client` yields a :class:`distributed.Client` on one of four places: an
in-process local cluster of worker processes (the default; nothing to start), a running
Dask scheduler (``scheduler="tcp://HOST:PORT"``), or jobs on a SLURM, PBS or SGE queue
through ``dask-jobqueue`` with the job resources of a :class:`ClusterResources`. With
``gpus=True`` a local cluster has one worker per GPU: ``dask_cuda.LocalCUDACluster`` when
dask-cuda is installed, otherwise one worker process per ``CUDA_VISIBLE_DEVICES`` entry
with that variable set to its device (:func:`gpu_worker_spec`). :func:`device_batch_size`
sizes a batch to the free memory of the device a worker computes on.

Dask, distributed and dask-jobqueue come with the ``sweep`` extra
(``pip install "psychoalign[sweep]"``); they are imported on first use.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psychoalign._checks import whole_number
from psychoalign.errors import ParameterError

if TYPE_CHECKING:
    import distributed
    import torch

__all__ = [
    "CLUSTER_KINDS",
    "ClusterResources",
    "dashboard_address",
    "device_batch_size",
    "gpu_worker_spec",
    "open_client",
    "queue_cluster",
    "visible_devices",
]

#: Where :func:`open_client` can start workers.
CLUSTER_KINDS = ("local", "slurm", "pbs", "sge")
_SCHEDULER = re.compile(r"tcp://[^\s:/]+:\d{1,5}")
_WALLTIME = re.compile(r"(\d+-)?\d+(:\d{2}){0,2}")
#: Per batch queue: the dask-jobqueue class and the directive that asks for N GPUs.
_GPU_DIRECTIVES = {"slurm": "--gres=gpu:{}", "pbs": "-l ngpus={}", "sge": "-l gpu={}"}
_QUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster"}
#: Seconds to wait for a running scheduler to answer.
_CONNECT_TIMEOUT = "10s"


@dataclass(frozen=True)
class ClusterResources:
    """What each batch-queue job asks for, and how many jobs a sweep starts.

    Parameters
    ----------
    cores
        CPU cores per job.
    memory
        Memory per job, a Dask size such as ``"4GiB"`` or ``"500MB"``.
    gpus
        GPUs per job; the job runs one worker per GPU.
    walltime
        Time limit per job, ``HH:MM:SS`` (or ``D-HH:MM:SS``).
    queue
        Queue (SLURM partition) to submit to; default: the queue system's.
    extra_directives
        Further job-script directives, without the ``#SBATCH``/``#PBS``/``#$`` prefix.
    jobs
        Jobs to start.
    """

    cores: int = 1
    memory: str = "4GiB"
    gpus: int = 0
    walltime: str = "01:00:00"
    queue: str | None = None
    extra_directives: tuple[str, ...] = ()
    jobs: int = 1

    def __post_init__(self) -> None:
        from dask.utils import parse_bytes

        whole_number("resources.cores", self.cores, 1)
        whole_number("resources.gpus", self.gpus, 0)
        whole_number("resources.jobs", self.jobs, 1)
        try:
            parse_bytes(str(self.memory))
        except ValueError:
            raise ParameterError(
                f"resources.memory: '{self.memory}' is not a size such as 4GiB or 500MB."
            ) from None
        if not _WALLTIME.fullmatch(str(self.walltime)):
            raise ParameterError(
                f"resources.walltime: '{self.walltime}' is not a time such as 01:00:00."
            )
        if isinstance(self.extra_directives, str):
            raise ParameterError("resources.extra_directives: give a list of directives.")
        object.__setattr__(self, "extra_directives", tuple(map(str, self.extra_directives)))


def _check_kind(cluster: str) -> str:
    if cluster not in CLUSTER_KINDS:
        raise ParameterError(f"cluster: '{cluster}' is not one of {', '.join(CLUSTER_KINDS)}.")
    return cluster


def _check_scheduler(scheduler: str) -> str:
    if not _SCHEDULER.fullmatch(str(scheduler)):
        raise ParameterError(
            f"scheduler: '{scheduler}' is not a Dask scheduler address tcp://HOST:PORT."
        )
    return scheduler


def visible_devices() -> list[str]:
    """The GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` entries, else torch's count."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [entry.strip() for entry in listed.split(",") if entry.strip()]
    import torch

    return [str(index) for index in range(torch.cuda.device_count())]


def gpu_worker_spec(devices: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """One worker process per GPU for :class:`distributed.SpecCluster`.

    Each worker is a nanny-started process with one thread and ``CUDA_VISIBLE_DEVICES``
    set to its device, so ``cuda:0`` in that worker is that GPU.

    Parameters
    ----------
    devices
        Device entries (default: :func:`visible_devices`).

    Returns
    -------
    dict
        Worker name (``gpu-<device>``) -> ``{"cls": Nanny, "options": {...}}``.
    """
    from distributed import Nanny

    devices = visible_devices() if devices is None else devices
    if not devices:
        raise ParameterError(
            "gpus: no GPU is visible (CUDA_VISIBLE_DEVICES is empty and torch sees none)."
        )
    return {
        f"gpu-{device}": {
            "cls": Nanny,
            "options": {"nthreads": 1, "env": {"CUDA_VISIBLE_DEVICES": device}},
        }
        for device in devices
    }


def _gpu_cluster() -> Any:
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError:
        from distributed import Scheduler, SpecCluster

        scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0"}}
        return SpecCluster(workers=gpu_worker_spec(), scheduler=scheduler)
    return LocalCUDACluster(threads_per_worker=1, dashboard_address=":0")


def _local_cluster(workers: int) -> Any:
    from distributed import LocalCluster

    # Distributed gives each worker process one BLAS/OpenMP thread; share the cores out
    # instead, so one worker is as fast as a plain call and two split the machine.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    environment = {name: threads for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env=environment,
    )


@contextmanager
def _kept_environment() -> Iterator[None]:
    """Undo what starting worker processes does to this process's environment.

    A nanny sets ``OMP_NUM_THREADS=1`` (and the like) in its own process before spawning
    a worker, and leaves it there: torch imported afterwards would run on one thread.
    """
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


def _pin_gpu_plugin(processes: int) -> Any:
    """Worker plugin: a job's k-th worker process keeps only the job's k-th GPU visible.

    dask-jobqueue names a job's worker processes ``<job>-0``, ``<job>-1``, ...; the plugin
    runs as each joins, before any task has initialised CUDA in it.
    """
    from distributed import WorkerPlugin

    class PinGPU(WorkerPlugin):
        name = "psychoalign-pin-gpu"

        def setup(self, worker: Any) -> None:
            listed = "CUDA_VISIBLE_DEVICES" in os.environ
            devices = visible_devices() if listed else [str(i) for i in range(processes)]
            position = str(worker.name).rsplit("-", 1)[-1] if processes > 1 else "0"
            if position.isdigit() and int(position) < len(devices):
                os.environ["CUDA_VISIBLE_DEVICES"] = devices[int(position)]

    return PinGPU()


def queue_cluster(kind: str, resources: ClusterResources | None = None) -> Any:
    """A dask-jobqueue cluster (not yet scaled) for ``kind`` in slurm, pbs, sge.

    ``cluster.job_script()`` shows the job script each job runs. With ``gpus`` > 0 the
    directive asking for them (``--gres=gpu:N``, ``-l ngpus=N``, ``-l gpu=N``) is added
    and each job runs one worker process per GPU.
    """
    import dask_jobqueue

    if _check_kind(kind) == "local":
        raise ParameterError("cluster: 'local' is not a batch queue; give slurm, pbs or sge.")
    resources = resources or ClusterResources()
    directives = list(resources.extra_directives)
    if resources.gpus:
        directives.append(_GPU_DIRECTIVES[kind].format(resources.gpus))
    processes = max(1, resources.gpus)
    return getattr(dask_jobqueue, _QUEUE_CLASSES[kind])(
        cores=max(resources.cores, processes),
        processes=processes,
        memory=resources.memory,
        walltime=resources.walltime,
        queue=resources.queue,
        job_extra_directives=directives,
        scheduler_options={"dashboard_address": ":0"},
    )


@contextmanager
def open_client(
    cluster: str = "local",
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resources: ClusterResources | None = None,
    gpus: bool = False,
) -> Iterator[distributed.Client]:
    """A Dask client on a local cluster, a running scheduler, or a batch queue.

    Parameters
    ----------
    cluster
        ``"local"`` (worker processes on this machine, closed on exit), ``"slurm"``,
        ``"pbs"`` or ``"sge"`` (``resources.jobs`` jobs through dask-jobqueue).
    workers
        Worker processes of a local cluster (one thread each).
    scheduler
        ``tcp://HOST:PORT`` of a running scheduler to connect to instead; ``cluster``,
        ``workers`` and ``gpus`` then do not apply.
    resources
        Job resources of a batch queue (default: :class:`ClusterResources`).
    gpus
        A local cluster of one worker per GPU instead of ``workers`` CPU workers.

    Yields
    ------
    distributed.Client
        The client; the cluster it started (if any) is closed on exit.
    """
    from distributed import Client

    _check_kind(cluster)
    whole_number("workers", workers, 1)
    resources = resources or ClusterResources()
    if scheduler is not None:
        _check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=_CONNECT_TIMEOUT)
        except OSError:
            raise ParameterError(f"scheduler: no Dask scheduler answers at {scheduler}.") from None
        with client:
            yield client
        return
    with _kept_environment():
        if cluster == "local":
            started = _gpu_cluster() if gpus else _local_cluster(workers)
        else:
            started = queue_cluster(cluster, resources)
            started.scale(jobs=resources.jobs)
        with ExitStack() as closing:
            _close_quietly(closing, started)
            client = closing.enter_context(Client(started))
            if cluster != "local" and resources.gpus:
                client.register_plugin(_pin_gpu_plugin(resources.gpus))
            yield client


def _close_quietly(closing: ExitStack, cluster: Any) -> None:
    """Close ``cluster`` with ``closing``, without the nannies' warning about slow exits.

    A worker process that has run torch can take longer than its nanny's grace period to
    exit; the nanny then kills it and logs a warning. At the end of a sweep that kill is
    the intended end, not news (a worker lost mid-sweep is still logged).
    """
    nanny = logging.getLogger("distributed.nanny")
    closing.callback(nanny.setLevel, nanny.level)
    closing.enter_context(cluster)
    closing.callback(nanny.setLevel, logging.ERROR)


def dashboard_address(client: distributed.Client) -> str | None:
    """The Dask dashboard's address, or None when the scheduler serves none (no bokeh)."""
    services = client.scheduler_info().get("services", {})
    if "dashboard" not in services:
        return None
    return client.dashboard_link


def device_batch_size(
    device: str | torch.device,
    item_bytes: int,
    *,
    most: int,
    share: float = 0.8,
    free_bytes: Callable[[Any], tuple[int, int]] | None = None,
) -> int:
    """Images per batch that fit in ``share`` of a GPU's free memory, at most ``most``.

    For the batched GPU paths of the model observer (``batch_size``) and ``Metamer``
    (``batch_size``). On the CPU the answer is ``most``: memory is not what limits a
    batch there.

    Parameters
    ----------
    device
        The device the batch runs on.
    item_bytes
        Device memory one image takes (inputs, activations and, for synthesis, gradients),
        e.g. measured with ``torch.cuda.max_memory_allocated`` on a small batch.
    most
        The largest batch worth running.
    share
        Part of the free memory to fill.
    free_bytes
        ``(free, total)`` of a device (default: ``torch.cuda.mem_get_info``).
    """
    import torch

    whole_number("item_bytes", item_bytes, 1)
    whole_number("most", most, 1)
    device = torch.device(device)
    if device.type != "cuda":
        return most
    free, _ = (free_bytes or torch.cuda.mem_get_info)(device)
    return max(1, min(most, int(free * share) // item_bytes))
