"""Cost of making a stimulus set beside plain image I/O, measured side by side in one run.

Makes the set of the 160 bundled `edge` images x 8 uniform-noise levels (seed 0) and
prints two ratios (issue 18):

- in-process: ``make_stimulus_set`` against a plain loop in this process that only reads
  the same source PNGs (one ``read_image`` per stimulus) and writes the same output PNGs
  with PIL's defaults (pixels decoded beforehand); target <= 1.5x;
- whole command: ``psychoalign stimuli make edge --manipulation uniform-noise --seed 0``
  run as a subprocess against the same plain loop run as a fresh ``python`` process that
  imports only numpy and PIL; both are timed from spawn to exit, so both pay Python's
  start-up and that of numpy and PIL, and the command alone pays for its own imports,
  the source set's verification, the checksums and the manifest; target <= 2x.

Each side runs twice, alternately, and the best times are compared (the machine may be
shared). It asserts that the command writes the very set made in-process (same checksum,
which lists every file's SHA-256) and that the plain loops write the same pixels. The
FFT-heavy phase-scrambling set (7 levels) is timed in-process after it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from psychoalign.datasets import stimulus_set
from psychoalign.stimuli import StimulusSet, make_stimulus_set, read_image

COMMAND = Path(sys.executable).with_name("psychoalign")
#: Each side runs this many times, alternately; the best time of each is compared.
REPEATS = 2

# The plain loop of the fresh process: numpy and PIL only, read as ``read_image`` reads.
PLAIN_LOOP = """
import os
import sys
import numpy as np
from PIL import Image
pixels = np.load(sys.argv[1])
pairs = [line.split("\\t") for line in open(sys.argv[2]).read().splitlines()]
for (source, stimulus), image in zip(pairs, pixels, strict=True):
    np.asarray(Image.open(source), dtype=np.uint8).astype(np.float64) / 255.0
    target = os.path.join(sys.argv[3], stimulus)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    Image.fromarray(image).save(target, format="PNG")
"""


def _plain_loop(sources: list[Path], pixels: list[np.ndarray], stimuli, copy: Path) -> float:
    """Seconds to read every source and write every output PNG, in this process."""
    start = time.perf_counter()
    for source_path, image, stimulus in zip(sources, pixels, stimuli, strict=True):
        read_image(source_path)
        target = copy / stimulus
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(target, format="PNG")
    return time.perf_counter() - start


def _same_pixels(folder: Path, stimuli, pixels: list[np.ndarray]) -> None:
    for stimulus, image in zip(stimuli, pixels, strict=True):
        assert np.array_equal(np.asarray(Image.open(folder / stimulus)), image), stimulus


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench(manipulation: str, *, command: bool = False) -> None:
    """Print the in-process ratio (and the whole command's, with ``command``)."""
    source = stimulus_set("edge")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        make_times, io_times, made = [], [], None
        for repeat in range(REPEATS):  # alternately, so that both meet the same load
            start = time.perf_counter()
            made = make_stimulus_set(
                source, manipulation, folder / f"made{repeat}", seed=0, progress=False
            )
            make_times.append(time.perf_counter() - start)
            frame = made.frame()
            # The output pixels, decoded beforehand exactly as encoded (8-bit, L or RGB).
            pixels = [np.asarray(Image.open(path)) for path in frame.path]
            sources = [source.path / stimulus for stimulus in frame.source]
            io_times.append(_plain_loop(sources, pixels, frame.stimulus, folder / "io"))
            _same_pixels(folder / "io", frame.stimulus, pixels)
            shutil.rmtree(folder / "io")
        assert len({StimulusSet.open(folder / f"made{r}").checksum for r in range(REPEATS)}) == 1
        print(
            f"make {manipulation} set, {len(source)} images x {len(made.conditions)} levels, "
            f"in-process: {min(make_times):.2f} s vs read+write only {min(io_times):.2f} s = "
            f"{min(make_times) / min(io_times):.2f}x",
            flush=True,
        )
        if command:
            _bench_command(folder, made, manipulation, pixels, sources)


def _bench_command(folder: Path, made: StimulusSet, manipulation: str, pixels, sources) -> None:
    """Time the whole command against the plain loop in a fresh process (see the top)."""
    frame = made.frame()
    np.save(folder / "pixels.npy", np.stack(pixels))
    (folder / "pairs.tsv").write_text(
        "".join(f"{s}\t{t}\n" for s, t in zip(sources, frame.stimulus, strict=True))
    )
    startup = _timed([str(COMMAND), "stimuli", "make", "--help"])
    arguments = ["edge", "--manipulation", manipulation, "--seed", "0"]
    command_times, loop_times = [], []
    for repeat in range(REPEATS):
        out = folder / f"command{repeat}"
        command_times.append(
            _timed([str(COMMAND), "stimuli", "make", *arguments, "--out", str(out)])
        )
        assert StimulusSet.open(out).checksum == made.checksum
        loop_times.append(
            _timed([sys.executable, "-c", PLAIN_LOOP, str(folder / "pixels.npy"),
                    str(folder / "pairs.tsv"), str(folder / "io")])
        )  # fmt: skip
        _same_pixels(folder / "io", frame.stimulus, pixels)
        shutil.rmtree(folder / "io")
    print(
        f"psychoalign stimuli make {' '.join(arguments)}, whole command: "
        f"{min(command_times):.2f} s vs read+write only in a fresh python "
        f"{min(loop_times):.2f} s = {min(command_times) / min(loop_times):.2f}x "
        f"(the command's start-up, `stimuli make --help`: {startup:.2f} s)",
        flush=True,
    )


if __name__ == "__main__":
    bench("uniform-noise", command=True)  # the 8 default levels, 0 to 0.9
    bench("phase-scrambling")  # the 7 default levels, 0 to 180 degrees: the FFT-heavy case
