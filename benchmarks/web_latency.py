"""Click-to-answer latency of the web game, micro-batched vs one request at a time.

Starts ``psychoalign.web`` (the bundled EfficientNet-Lite0, SQLite in a temporary folder)
under uvicorn in a subprocess on a free loopback port, twice: micro-batched (default
``max_batch=32``) and one forward pass per request (``max_batch=1``). At 1, 10 and 50
concurrent simulated participants (httpx, each clicking about ``--think-ms`` after its
last click was answered) it prints p50/p95 of the time from sending a click to its
answer and the clicks answered per second, side by side, and what the forward pass alone
allows. Target: p95 < 150 ms at 50 participants.

    python benchmarks/web_latency.py [--clicks 12] [--think-ms 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

LEVELS = (1, 10, 50)
TOKEN = "benchmark-admin-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(folder: Path, max_batch: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    script = (
        "import dataclasses, uvicorn\n"
        "from psychoalign.rules import LINSLEY_2019\n"
        "from psychoalign.web.app import create_app\n"
        "rules = dataclasses.replace(LINSLEY_2019, time_limit_s=3600.0, click_budget=1000)\n"
        f"app = create_app('silhouette', db_url='sqlite:///{folder}/b{max_batch}.sqlite', "
        f"rules=rules, n_practice=0, max_batch={max_batch}, click_rate=10000.0)\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited ({server.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return server, url
        time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not answer within 180 s")


async def _participant(
    client: httpx.AsyncClient, seed: int, n_clicks: int, think_s: float = 0.0
) -> list[float]:
    rng = np.random.default_rng(seed)
    reply = await client.post("/api/participants", json={"consent": True, "params": {}})
    headers = {"Authorization": f"Bearer {reply.json()['token']}"}
    trial = (await client.post("/api/trials/next", headers=headers)).json()["trial"]
    latencies = []
    while len(latencies) < n_clicks and trial is not None:
        if think_s:  # a person looks before the next click: 0.5 to 1.5 times think_s
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
        body = {
            "x": rng.uniform(0, trial["image_width"]),
            "y": rng.uniform(0, trial["image_height"]),
        }
        start = time.perf_counter()
        reply = await client.post(
            f"/api/trials/{trial['index']}/clicks", json=body, headers=headers
        )
        latencies.append(time.perf_counter() - start)
        if reply.status_code != 200 or reply.json()["ended"]:
            trial = (await client.post("/api/trials/next", headers=headers)).json()["trial"]
    return latencies


async def _level(
    url: str, n_participants: int, n_clicks: int, think_s: float
) -> tuple[np.ndarray, float]:
    """Latencies (ms) of every click, and the clicks answered per second."""
    limits = httpx.Limits(max_connections=n_participants + 5)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await _participant(client, 999, 2)  # warm-up
        start = time.perf_counter()
        found = await asyncio.gather(
            *(_participant(client, seed, n_clicks, think_s) for seed in range(n_participants))
        )
        elapsed = time.perf_counter() - start
    latencies = np.array([t for per in found for t in per]) * 1000
    return latencies, len(latencies) / elapsed


def _model_capacity() -> str:
    """The forward pass alone, in this process: what bounds the clicks a server can answer."""
    import torch

    from psychoalign.models import ModelObserver

    observer = ModelObserver(device="cpu")
    per_image = {}
    for size in (1, 8):
        inputs = torch.rand(size, 3, 224, 224)
        observer.forward(inputs)
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            observer.forward(inputs)
            timings.append((time.perf_counter() - start) / size)
        per_image[size] = float(np.median(timings))
    return (
        f"the model alone ({torch.get_num_threads()} torch threads): "
        f"{1000 * per_image[1]:.0f} ms per image at batch 1, {1000 * per_image[8]:.0f} ms "
        f"at batch 8: at most {1 / min(per_image.values()):.0f} clicks answered per second"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=12, help="clicks per participant")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=500.0,
        help="mean pause between an answer and the next click (0: click at once)",
    )
    args = parser.parse_args()
    results: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for max_batch in (32, 1):
            server, url = _start(Path(folder), max_batch)
            try:
                for level in LEVELS:
                    results[max_batch, level] = asyncio.run(
                        _level(url, level, args.clicks, args.think_ms / 1000)
                    )
            finally:
                server.terminate()
                server.wait(timeout=30)
    for level in LEVELS:
        (batched, batched_rate), (single, single_rate) = results[32, level], results[1, level]
        b50, b95 = np.percentile(batched, [50, 95])
        s50, s95 = np.percentile(single, [50, 95])
        print(
            f"click-to-answer, {level:2d} participants x {args.clicks} clicks "
            f"({args.think_ms:.0f} ms apart): micro-batched "
            f"p50 {b50:.0f} ms p95 {b95:.0f} ms ({batched_rate:.0f} clicks/s) vs one at a "
            f"time p50 {s50:.0f} ms p95 {s95:.0f} ms ({single_rate:.0f} clicks/s) = "
            f"p95 {s95 / b95:.2f}x"
        )
    print(_model_capacity())


if __name__ == "__main__":
    main()
