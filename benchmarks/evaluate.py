"""Throughput of ModelObserver.run against a bare forward loop, measured side by side.

The stimuli: a uniform-noise set made from the 160 bundled `edge` images at 8 levels
(1,280 stimuli). The baseline runs the same model in ``torch.inference_mode()`` over the
same preprocessed tensors, already in memory, in batches of the same size; the pipeline
verifies checksums, reads and decodes the PNGs, prepares, runs, maps and builds the trial
and probability tables. The two alternate for three rounds and each keeps its best time.
Target: pipeline / bare >= 0.9.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from psychoalign.datasets import stimulus_set
from psychoalign.models import ModelObserver
from psychoalign.stimuli import make_stimulus_set, read_image

BATCH = 32
ROUNDS = 3


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        stimuli = make_stimulus_set(
            stimulus_set("edge"), "uniform-noise", Path(folder) / "noise", progress=False
        )
        observer = ModelObserver("efficientnet_lite0", batch_size=BATCH)
        prepared = [
            observer.prepare(np.stack([read_image(p) for p in stimuli.frame().path[i : i + BATCH]]))
            for i in range(0, len(stimuli), BATCH)
        ]
        observer.run(stimuli.subset(conditions=["0.00"]), progress=False)  # warm-up
        pipeline, bare = [], []
        for _ in range(ROUNDS):  # alternate the two, keep each one's best: the machine is noisy
            start = time.perf_counter()
            run = observer.run(stimuli, progress=False)
            pipeline.append(time.perf_counter() - start)
            start = time.perf_counter()
            with torch.inference_mode():
                logits = [observer.model.module(batch) for batch in prepared]
            bare.append(time.perf_counter() - start)
        pipeline, bare = min(pipeline), min(bare)
    decisions = observer.mapping.decide(
        torch.softmax(torch.cat(logits), dim=1), observer.model.labels
    )
    assert decisions == run.trials.response.tolist(), "pipeline and bare loop disagree"
    n = len(run.trials)
    print(
        f"ModelObserver.run, {observer.model.name} on {n} stimuli ({observer.model.device}): "
        f"{n / pipeline:.1f} images/s vs bare inference loop {n / bare:.1f} images/s = "
        f"{bare / pipeline:.2f} of bare speed",
        flush=True,
    )


if __name__ == "__main__":
    main()
