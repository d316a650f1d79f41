"""Start-up of the ``psychoalign`` command beside a bare Python and a bare ``import typer``.

Each command is run as a fresh process, the baselines and the commands interleaved
(``python -c pass``, ``python -c "import typer"``, then each command) for three rounds,
and the wall time of every run is printed side by side with its ratio to the bare
Python. Target: ``psychoalign --help`` (and each command's ``--help``) under 0.4 s;
what is left above ``import typer`` is psychoalign's own start-up (typer's help
rendering with rich included).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 3
#: The console script beside this Python, as a user runs it.
SCRIPT = Path(sys.executable).with_name("psychoalign")
RUNS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "psychoalign --help": [str(SCRIPT), "--help"],
    "psychoalign --version": [str(SCRIPT), "--version"],
    "psychoalign compare --help": [str(SCRIPT), "compare", "--help"],
    "psychoalign stimuli make --help": [str(SCRIPT), "stimuli", "make", "--help"],
}


def wall_time(command: list[str]) -> float:
    """Seconds from start to exit of one fresh process; a failed run stops the benchmark."""
    environment = {**os.environ, "COLUMNS": "100"}
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=environment)
    return time.perf_counter() - start


def main() -> None:
    times: dict[str, list[float]] = {name: [] for name in RUNS}
    for _ in range(ROUNDS):
        for name, command in RUNS.items():
            times[name].append(wall_time(command))
    bare = statistics.median(times["python -c pass"])
    typer = statistics.median(times["python -c 'import typer'"])
    print(f"{'run':<34}" + "".join(f"{f'#{n + 1}':>8}" for n in range(ROUNDS)), end="")
    print(f"{'median':>9}{'/ pass':>8}{'/ typer':>8}")
    for name, runs in times.items():
        median = statistics.median(runs)
        cells = "".join(f"{run:>7.3f}s" for run in runs)
        print(f"{name:<34}{cells}{median:>8.3f}s{median / bare:>7.1f}x{median / typer:>7.1f}x")


if __name__ == "__main__":
    main()
