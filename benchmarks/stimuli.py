"""Cost of degradation beside image I/O when making a stimulus set, measured side by side.

Makes a set of the 160 bundled `edge` images x 8 levels, then, in the same process, only
reads the same source PNGs and writes the same output PNGs (pixels decoded beforehand),
and prints the ratio of the two times (target <= 1.5x: degradation is cheap beside I/O).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from psychoalign.datasets import stimulus_set
from psychoalign.stimuli import make_stimulus_set, read_image


def bench(manipulation: str, levels: list[str] | None = None) -> None:
    source = stimulus_set("edge")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        made = make_stimulus_set(
            source, manipulation, Path(folder) / "made", levels=levels, seed=0, progress=False
        )
        make_time = time.perf_counter() - start
        frame = made.frame()
        # The output pixels, decoded beforehand exactly as they were encoded (8-bit, L or RGB).
        pixels = [np.asarray(Image.open(path)) for path in frame.path]
        sources = [source.path / stimulus for stimulus in frame.source]
        copy = Path(folder) / "io"
        start = time.perf_counter()
        for source_path, image, stimulus in zip(sources, pixels, frame.stimulus, strict=True):
            read_image(source_path)
            target = copy / stimulus
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(target, format="PNG")
        io_time = time.perf_counter() - start
        shutil.rmtree(copy)
    print(
        f"make {manipulation} set, {len(source)} images x {len(made.conditions)} levels: "
        f"{make_time:.2f} s vs read+write only {io_time:.2f} s = {make_time / io_time:.2f}x",
        flush=True,
    )


if __name__ == "__main__":
    bench("uniform-noise")  # the 8 default levels, 0 to 0.9
    bench("phase-scrambling")  # the 7 default levels, 0 to 180 degrees: the FFT-heavy case
