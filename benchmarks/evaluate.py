"""Throughput of ModelObserver.run against a bare forward loop, measured side by side.

The stimuli: a uniform-noise set made from the 160 bundled `edge` images at 8 levels
(1,280 stimuli). The baseline runs the same model in ``torch.inference_mode()`` over the
same preprocessed tensors, already in memory, in batches of the same size; the pipeline
verifies checksums, reads and decodes the PNGs, prepares, runs, maps and builds the trial
and probability tables. The machine's speed drifts by tens of percent over minutes, so the
two are interleaved level by level (160 stimuli at a time, in ABBA order), twice over; the
ratio printed is the median of the 16 paired ratios (the totals are printed too).
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
PASSES = 2


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        stimuli = make_stimulus_set(
            stimulus_set("edge"), "uniform-noise", Path(folder) / "noise", progress=False
        )
        observer = ModelObserver("efficientnet_lite0", batch_size=BATCH)
        observer.run(stimuli.subset(conditions=["0.00"]), progress=False)  # warm-up
        pipeline = bare = 0.0
        responses = []
        ratios = []
        for index, level in enumerate(stimuli.conditions * PASSES):
            part = stimuli.subset(conditions=[level])
            paths = part.frame().path
            prepared = [
                observer.prepare(np.stack([read_image(p) for p in paths[i : i + BATCH]]))
                for i in range(0, len(paths), BATCH)
            ]

            def run_pipeline(part=part):
                return observer.run(part, progress=False)

            def run_bare(prepared=prepared):
                with torch.inference_mode():
                    return [observer.model.module(batch) for batch in prepared]

            order = (run_pipeline, run_bare) if index % 2 == 0 else (run_bare, run_pipeline)
            elapsed = {}
            for step in order:
                start = time.perf_counter()
                result = step()
                elapsed[step] = time.perf_counter() - start
                if step is run_pipeline:
                    run = result
                else:
                    logits = result
            pipeline += elapsed[run_pipeline]
            bare += elapsed[run_bare]
            ratios.append(elapsed[run_bare] / elapsed[run_pipeline])
            decisions = observer.mapping.decide(
                torch.softmax(torch.cat(logits), dim=1), observer.model.labels
            )
            assert decisions == run.trials.response.tolist(), "pipeline and bare loop disagree"
            responses += decisions
    n = len(responses)  # answers over both passes
    print(
        f"ModelObserver.run, {observer.model.name} on {n // PASSES} stimuli x {PASSES} passes "
        f"({observer.model.device}): "
        f"{n / pipeline:.1f} images/s vs bare inference loop {n / bare:.1f} images/s; "
        f"median of {len(ratios)} paired ratios = {np.median(ratios):.2f} of bare speed "
        f"(totals {bare / pipeline:.2f})",
        flush=True,
    )


if __name__ == "__main__":
    main()
