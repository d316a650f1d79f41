"""GPU check of sweeps: one worker per GPU, a batch sized to the device, images/s vs the CPU.

On a machine with CUDA (``scripts/gpu-sweep-check.sh`` runs it there): opens
``open_client(gpus=True)`` (``dask_cuda.LocalCUDACluster`` if installed, else one worker
process per ``CUDA_VISIBLE_DEVICES`` entry), and in a GPU worker measures the device
memory one image takes in ``efficientnet_lite0``, sizes the observer's batch with
``device_batch_size`` and runs ``ModelObserver.run`` on the bundled ``edge`` set
(160 stimuli, several passes); the same run on the CPU of this process is the baseline.
Without CUDA it says so and exits.
"""

from __future__ import annotations

import importlib.util
import os
import time

import torch

from psychoalign.datasets import stimulus_set
from psychoalign.models import ModelObserver
from psychoalign.workflows._clusters import device_batch_size, open_client

MODEL = "efficientnet_lite0"
PASSES = 5
PROBE = 8


def _images_per_second(observer: ModelObserver, passes: int) -> float:
    stimuli = stimulus_set("edge")
    observer.run(stimuli.subset(images=list(stimuli.manifest.image[:8])), progress=False)
    start = time.perf_counter()
    for _ in range(passes):
        observer.run(stimuli, progress=False)
    return passes * len(stimuli) / (time.perf_counter() - start)


def gpu_unit() -> dict[str, object]:
    """On a GPU worker: its device, the batch chosen, and observer images/s there."""
    observer = ModelObserver(MODEL, device="cuda")
    crop = observer.model.preprocessing.crop
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    observer.forward(torch.zeros((PROBE, 3, crop, crop), device="cuda"))
    torch.cuda.synchronize()
    item_bytes = max(1, (torch.cuda.max_memory_allocated() - before) // PROBE)
    observer.batch_size = device_batch_size("cuda", item_bytes, most=1024)
    inputs = torch.zeros((observer.batch_size, 3, crop, crop), device="cuda")
    observer.forward(inputs)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(5):
        observer.forward(inputs)
    torch.cuda.synchronize()
    forward = 5 * observer.batch_size / (time.perf_counter() - start)
    free, total = torch.cuda.mem_get_info()
    return {
        "visible": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device": torch.cuda.get_device_name(0),
        "item_mib": item_bytes / 2**20,
        "free_gib": free / 2**30,
        "total_gib": total / 2**30,
        "batch": observer.batch_size,
        "forward": forward,
        "pipeline": _images_per_second(observer, PASSES),
    }


def main() -> None:
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on a GPU machine.", flush=True)
        return
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    path = "dask_cuda" if importlib.util.find_spec("dask_cuda") else "CUDA_VISIBLE_DEVICES"
    print(f"devices: {names}; GPU workers through {path}", flush=True)
    start = time.perf_counter()
    with open_client(gpus=True) as client:
        workers = {
            info["name"]: address for address, info in client.scheduler_info()["workers"].items()
        }
        print(f"workers: {sorted(workers)} (cluster up in {time.perf_counter() - start:.1f} s)")
        first = sorted(workers)[0]
        gpu = client.submit(gpu_unit, pure=False, workers=[workers[first]]).result()
    cpu = _images_per_second(ModelObserver(MODEL, device="cpu", batch_size=32), 1)
    print(
        f"worker {first} (CUDA_VISIBLE_DEVICES={gpu['visible']}, {gpu['device']}): "
        f"{gpu['item_mib']:.1f} MiB per image, {gpu['free_gib']:.0f} of "
        f"{gpu['total_gib']:.0f} GiB free -> batch size {gpu['batch']}",
        flush=True,
    )
    print(
        f"{MODEL} ModelObserver.run on edge (160 stimuli x {PASSES}): GPU worker "
        f"{gpu['pipeline']:.0f} images/s (forward alone at batch {gpu['batch']}: "
        f"{gpu['forward']:.0f} images/s) vs CPU ({torch.get_num_threads()} threads, batch 32) "
        f"{cpu:.0f} images/s = {gpu['pipeline'] / cpu:.1f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
