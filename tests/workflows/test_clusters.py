"""Where sweeps run: local clusters, a running scheduler, batch-queue job scripts, GPU workers."""

from __future__ import annotations

import os

import dask_jobqueue  # noqa: F401 - the sweep extra (make setup installs it); a test never skips
import pytest
from distributed import Client, LocalCluster, Nanny, Scheduler, SpecCluster

from psychoalign.errors import ParameterError
from psychoalign.workflows import _clusters
from psychoalign.workflows._clusters import (
    ClusterResources,
    dashboard_address,
    device_batch_size,
    gpu_worker_spec,
    open_client,
    queue_cluster,
)

SCHEDULER = {"cls": Scheduler, "options": {"dashboard_address": ":0"}}


def _environment(name: str) -> str | None:
    return os.environ.get(name)


def test_a_local_cluster_of_two_processes_runs_tasks_on_both():
    with open_client(workers=2) as client:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(info["nthreads"] == 1 for info in workers.values())
        assert client.submit(sum, [1, 2, 3]).result() == 6
        # The cores are shared out: each of the 2 workers gets half for BLAS/OpenMP.
        threads = client.run(_environment, "OMP_NUM_THREADS")
        assert set(threads.values()) == {str(max(1, (os.cpu_count() or 1) // 2))}
        assert dashboard_address(client) is None or dashboard_address(client).startswith("http")


def test_starting_workers_leaves_this_processs_thread_settings_alone(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with open_client(workers=1) as client:
        assert client.submit(sum, [1]).result() == 1
    assert "OMP_NUM_THREADS" not in os.environ


def test_open_client_connects_to_a_running_scheduler_and_leaves_it_running():
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        with open_client(scheduler=cluster.scheduler_address) as client:
            assert client.scheduler.address == cluster.scheduler_address
            assert client.submit(pow, 2, 10).result() == 1024
        assert cluster.status.name == "running"


@pytest.mark.parametrize(
    ("kind", "prefix", "gpu_directive", "queue_directive"),
    [
        ("slurm", "#SBATCH", "#SBATCH --gres=gpu:2", "#SBATCH -p gpu-long"),
        ("pbs", "#PBS", "#PBS -l ngpus=2", "#PBS -q gpu-long"),
        ("sge", "#$", "#$ -l gpu=2", "#$ -q gpu-long"),
    ],
)
def test_job_scripts_ask_for_the_resources_and_directives(
    kind, prefix, gpu_directive, queue_directive
):
    resources = ClusterResources(
        cores=8,
        memory="32GiB",
        gpus=2,
        walltime="12:00:00",
        queue="gpu-long",
        extra_directives=["--account=vision"],
        jobs=3,
    )
    with queue_cluster(kind, resources) as cluster:
        script = cluster.job_script()
    lines = script.splitlines()
    assert gpu_directive in lines
    assert queue_directive in lines
    assert f"{prefix} --account=vision" in lines
    assert "12:00:00" in script
    assert "--nworkers 2" in script  # one worker process per GPU
    assert "--nthreads 4" in script  # 8 cores shared by the 2 workers
    if kind == "slurm":
        assert "#SBATCH --cpus-per-task=8" in lines
        assert "#SBATCH --mem=32G" in lines


def test_a_job_without_gpus_asks_for_none():
    with queue_cluster("slurm", ClusterResources(cores=4, memory="8GiB")) as cluster:
        script = cluster.job_script()
    assert "gres" not in script
    assert "--nworkers" not in script
    assert "--nthreads 4" in script


def test_the_cuda_visible_devices_fallback_gives_one_worker_per_device():
    spec = gpu_worker_spec(["2", "5"])
    assert sorted(spec) == ["gpu-2", "gpu-5"]
    for device in ("2", "5"):
        worker = spec[f"gpu-{device}"]
        assert worker["cls"] is Nanny
        assert worker["options"] == {"nthreads": 1, "env": {"CUDA_VISIBLE_DEVICES": device}}


def test_the_fallback_reads_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,3")
    assert sorted(gpu_worker_spec()) == ["gpu-0", "gpu-3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ParameterError, match="gpus: no GPU is visible"):
        gpu_worker_spec()


def test_gpus_start_one_worker_process_per_visible_device(monkeypatch):
    # No GPU work: the workers start with their device set, which needs no GPU.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with open_client(gpus=True) as client:
        devices = client.run(_environment, "CUDA_VISIBLE_DEVICES")
        names = {info["name"] for info in client.scheduler_info()["workers"].values()}
    assert sorted(devices.values()) == ["0", "1"]
    assert names == {"gpu-0", "gpu-1"}


def test_a_jobs_worker_processes_each_keep_one_of_its_gpus(monkeypatch):
    # A job's 2 worker processes, as named by dask-jobqueue (<job>-0, <job>-1).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,7")
    spec = {f"SLURMCluster-0-{i}": {"cls": Nanny, "options": {"nthreads": 1}} for i in (0, 1)}
    with SpecCluster(workers=spec, scheduler=SCHEDULER) as cluster, Client(cluster) as client:
        client.register_plugin(_clusters._pin_gpu_plugin(2))
        devices = client.run(_environment, "CUDA_VISIBLE_DEVICES")
        names = {
            info["name"]: address for address, info in client.scheduler_info()["workers"].items()
        }
    assert devices[names["SLURMCluster-0-0"]] == "4"
    assert devices[names["SLURMCluster-0-1"]] == "7"


def test_batches_fit_the_free_memory_of_the_device():
    def free(device):
        return 10_000, 40_000

    assert device_batch_size("cuda:0", 100, most=512, free_bytes=free) == 80
    assert device_batch_size("cuda:0", 100, most=16, free_bytes=free) == 16
    assert device_batch_size("cuda:0", 1_000_000, most=16, free_bytes=free) == 1
    assert device_batch_size("cpu", 100, most=32) == 32


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cluster": "kubernetes"}, "cluster: 'kubernetes' is not one of local, slurm, pbs, sge"),
        ({"scheduler": "localhost:8786"}, "scheduler: 'localhost:8786' is not a Dask scheduler"),
        ({"workers": 0}, "workers: 0 must be a whole number of at least 1"),
    ],
)
def test_open_client_refuses_bad_options(options, message):
    with pytest.raises(ParameterError, match=message), open_client(**options):
        pass


def test_open_client_names_a_scheduler_that_does_not_answer(monkeypatch):
    monkeypatch.setattr(_clusters, "_CONNECT_TIMEOUT", "1s")
    with (
        pytest.raises(ParameterError, match=r"no Dask scheduler answers at tcp://127\.0\.0\.1:9"),
        open_client(scheduler="tcp://127.0.0.1:9"),
    ):
        pass


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"memory": "4 apples"}, "resources.memory: '4 apples' is not a size"),
        ({"walltime": "soon"}, "resources.walltime: 'soon' is not a time"),
        ({"cores": 0}, "resources.cores: 0 must be a whole number of at least 1"),
        ({"extra_directives": "--exclusive"}, "resources.extra_directives: give a list"),
    ],
)
def test_bad_resources_are_refused_naming_the_option(values, message):
    with pytest.raises(ParameterError, match=message):
        ClusterResources(**values)


def test_resources_keep_directives_as_a_tuple():
    resources = ClusterResources(extra_directives=["--exclusive"])
    assert resources.extra_directives == ("--exclusive",)
    assert hash(resources) == hash(ClusterResources(extra_directives=("--exclusive",)))
