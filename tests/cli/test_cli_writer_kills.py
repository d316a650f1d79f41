"""Every writer killed (SIGKILL) at 20 seeded random moments leaves no half output.

For each writer one uninterrupted run into ``clean/`` gives its duration T; then a chain
of 20 runs into ``chain/``, each killed at a seeded uniform moment in [0, T] and each a
rerun on what the last one left. After every kill: every visible file is complete and
correct (equal to the clean run's, masked as below), and an output that is visible is
whole (a stimulus set, an evaluated unit, a results folder, a maps file with its sidecar).
A last run to completion must then leave exactly the clean run's files, and none of the
hidden temporaries the kills left behind.

The commands run in processes forked from one server that has imported psychoalign and
torch once: the same CLI code as ``psychoalign ...``, without paying ~5 s of imports per
run, so the kills land in the work rather than in the imports.

Masked, and only these: JSON keys ``created``; the date of the HTML report's first line
("Made ... UTC"); PDF ``/CreationDate``; SVG ``<dc:date>`` and the random ids matplotlib
gives clip paths and images; the timestamps in the zip headers of ``.npz`` files (their arrays are
compared byte for byte).
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from psychoalign.datasets import stimulus_set
from psychoalign.trials import write_trials
from support import HUMAN_RAW, clickme_trials

KILLS = 20

SERVER = r"""
import json, os, sys
import torch
torch.set_num_threads(1)
import psychoalign.cli, psychoalign.models, psychoalign.models.features, psychoalign.report
import psychoalign.plots.clickmaps, psychoalign.stimuli, captum.attr
import psychoalign.workflows.clickmaps, psychoalign.workflows.compare
import psychoalign.workflows.evaluation, psychoalign.workflows.metamers
from psychoalign.cli import app

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.chdir(request["cwd"])
            try:
                app(request["argv"], prog_name="psychoalign")
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
        finally:
            os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"status": status}), flush=True)
"""


class Server:
    """Runs ``psychoalign`` commands in forked children; :meth:`run` may kill one."""

    def __init__(self) -> None:
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )

    def run(self, argv: list[str], cwd: Path, kill_after: float | None = None) -> tuple[int, float]:
        """Run ``argv``; SIGKILL it after ``kill_after`` s unless done.

        Returns the exit code (minus the signal number when killed) and the seconds it ran.
        """
        request = {"argv": argv, "cwd": str(cwd), "log": str(cwd / "log.txt")}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        pid = json.loads(self.process.stdout.readline())["pid"]
        start = time.monotonic()
        if kill_after is not None:
            ready, _, _ = select.select([self.process.stdout], [], [], kill_after)
            if not ready:
                os.kill(pid, signal.SIGKILL)
        status = json.loads(self.process.stdout.readline())["status"]
        return os.waitstatus_to_exitcode(status), time.monotonic() - start

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def server():
    started = Server()
    yield started
    started.close()


# --- the inputs: small real data ---------------------------------------------------------


def _small_set(folder: Path, name: str, source: str, categories: list[str]) -> Path:
    stimulus_set(source).subset(categories=categories).write(folder / name, name=name)
    return folder / name


def _clickme_sessions(folder: Path, stimuli: Path) -> Path:
    """Three clickme sessions (3-6 seeded clicks per image) with sidecars naming the set."""
    from psychoalign.stimuli import StimulusSet

    shown = StimulusSet.open(stimuli)
    frame = shown.frame()
    sessions = folder / "clickme"
    sessions.mkdir()
    for seed, observer in enumerate(("01", "02", "03")):
        rng = np.random.default_rng(seed)
        clicks = [
            json.dumps([{"row": int(r), "col": int(c), "t": 0.4} for r, c in points])
            for points in (rng.integers(40, 184, (rng.integers(3, 7), 2)) for _ in frame.index)
        ]
        trials = clickme_trials(frame, observer, clicks)
        path = write_trials(trials, sessions / f"sub-{observer}_ses-1.csv")
        record = {"stimulus_set": {"path": str(shown.path), "checksum": shown.checksum}}
        path.with_suffix(".json").write_text(json.dumps(record))
    return sessions


def _stimuli_make(inputs: Path) -> list[str]:
    source = _small_set(inputs, "edge", "edge", ["bear", "bird", "boat"])
    return [
        *("stimuli", "make", str(source), "--manipulation", "uniform-noise"),
        *("--levels", "0.0,0.2", "--out", "set", "--overwrite"),
    ]


def _evaluate(inputs: Path) -> list[str]:
    edge = _small_set(inputs, "edge", "edge", ["bear", "bird"])
    silhouette = _small_set(inputs, "silhouette", "silhouette", ["bear", "bird"])
    return [
        *("evaluate", "--model", "efficientnet_lite0", "--device", "cpu"),
        *("--stimuli", str(edge), "--stimuli", str(silhouette), "--out", "out"),
    ]


def _clickmaps_build(inputs: Path) -> list[str]:
    three = stimulus_set("silhouette").subset(images=["cat1.png", "cat2.png", "dog1.png"])
    sessions = _clickme_sessions(inputs, three.write(inputs / "three").path)
    return ["clickmaps", "build", str(sessions), "--out", "maps.npz"]


def _clickmaps_align(inputs: Path) -> list[str]:
    from psychoalign.workflows.clickmaps import build_clickmaps

    three = stimulus_set("silhouette").subset(images=["cat1.png", "cat2.png", "dog1.png"])
    sessions = _clickme_sessions(inputs, three.write(inputs / "three").path)
    build_clickmaps([sessions], inputs / "maps.npz")
    return [
        *("clickmaps", "align", str(inputs / "maps.npz"), "--model", "efficientnet_lite0"),
        *("--n-splits", "5", "--out", "out"),
    ]


def _metamers(inputs: Path) -> list[str]:
    source = _small_set(inputs, "edge", "edge", ["bear"])
    return [
        *("metamers", "--layers", "_blocks.0", "--stimuli", str(source)),
        *("--images", "2", "--steps", "2", "--rounds", "1", "--out", "set"),
    ]


def _compare(inputs: Path) -> list[str]:
    # --overwrite: a rerun onto the whole tables of the last one replaces the folder whole.
    return [
        *("compare", str(HUMAN_RAW / "edge"), str(HUMAN_RAW / "silhouette")),
        *("--out", "out", "--overwrite"),
    ]


def _report(inputs: Path) -> list[str]:
    from psychoalign.workflows.compare import compare_files

    compare_files([HUMAN_RAW / "edge"], inputs / "results" / "tables")
    return ["report", str(inputs / "results"), "--out", "report.html"]


@dataclass(frozen=True)
class Writer:
    """A command, the inputs it needs, and which of its outputs come whole or not at all."""

    arguments: Callable[[Path], list[str]]
    #: The parts that are all-or-nothing: a relative path -> its unit (a folder, or a file).
    unit: Callable[[str], str] = lambda path: path.split("/")[0]
    #: (file, file it needs): the first is never on view without the second.
    needs: tuple[tuple[str, str], ...] = ()
    #: A rerun may be refused (exit 2) once the output is whole: no --overwrite.
    refuses_existing: bool = False


WRITERS = {
    "stimuli-make": Writer(_stimuli_make),
    "evaluate": Writer(_evaluate, lambda path: "/".join(path.split("/")[:3])),
    # A maps file on view has its sidecar; a sidecar alone is no maps file.
    "clickmaps-build": Writer(_clickmaps_build, str, (("maps.npz", "maps.json"),)),
    "clickmaps-align": Writer(_clickmaps_align),
    "metamers": Writer(_metamers, refuses_existing=True),
    "compare": Writer(_compare),
    "report": Writer(_report),
}

# --- what is compared -------------------------------------------------------------------


def _masked_json(value):
    if isinstance(value, dict):
        return {key: _masked_json(item) for key, item in value.items() if key != "created"}
    if isinstance(value, list):
        return [_masked_json(item) for item in value]
    return value


def _masked(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".json":
        return json.dumps(_masked_json(json.loads(data)), sort_keys=True).encode()
    if path.suffix == ".npz":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"".join(
                name.encode() + archive.read(name) for name in sorted(archive.namelist())
            )
    if path.suffix == ".pdf":
        return re.sub(rb"/CreationDate \(D:[^)]*\)", b"", data)
    if path.suffix == ".svg":
        data = re.sub(rb"<dc:date>[^<]*</dc:date>", b"", data)
        return re.sub(rb"\b(?:p|m|image)[0-9a-f]{10}\b", b"ID", data)
    if path.suffix == ".html":
        return re.sub(rb"Made \d{4}-\d\d-\d\d \d\d:\d\d UTC", b"Made", data)
    return data


def _visible(root: Path) -> list[str]:
    """Relative paths of the files on view under ``root`` (hidden ones are no output)."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and path.name != "log.txt"
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def _outputs(root: Path) -> dict[str, bytes]:
    return {path: _masked(root / path) for path in _visible(root)}


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_killed_writer_leaves_no_half_output_and_a_rerun_is_identical(name, tmp_path, server):
    writer = WRITERS[name]
    (tmp_path / "inputs").mkdir()
    arguments = writer.arguments(tmp_path / "inputs")
    clean, chain = tmp_path / "clean", tmp_path / "chain"
    clean.mkdir(), chain.mkdir()
    status, duration = server.run(arguments, clean)
    assert status == 0, (clean / "log.txt").read_text()
    finished = {0, 2} if writer.refuses_existing else {0}
    expected = _outputs(clean)
    units: dict[str, set[str]] = {}
    for path in expected:
        units.setdefault(writer.unit(path), set()).add(path)
    rng = np.random.default_rng(list(WRITERS).index(name))
    killed = 0
    for moment in rng.uniform(0, duration, KILLS):
        status, _ = server.run(arguments, chain, kill_after=float(moment))
        killed += status == -signal.SIGKILL
        assert status in {*finished, -signal.SIGKILL}, (chain / "log.txt").read_text()
        seen = _outputs(chain)
        # Every file on view is complete and right; every output on view is whole.
        assert {path: seen[path] == expected.get(path) for path in seen} == dict.fromkeys(
            seen, True
        ), f"after a kill at {moment:.2f} s of {duration:.2f} s"
        for unit, paths in units.items():
            if paths & set(seen):
                assert paths <= set(seen), f"{unit} is half there after a kill at {moment:.2f} s"
        for path, needed in writer.needs:
            assert path not in seen or needed in seen, f"{path} without {needed}"
        if writer.refuses_existing and status == 0:
            # No --overwrite: the finished set goes, so that the next run works again.
            shutil.rmtree(chain / "set")
    # Reruns that find finished work (evaluate's units) are quick: fewer kills land there.
    assert killed >= 1
    status, _ = server.run(arguments, chain)
    assert status in finished, (chain / "log.txt").read_text()
    assert _outputs(chain) == expected
    hidden = [p for p in chain.rglob(".*")]
    assert hidden == [], f"stale temporaries left: {hidden}"
    print(f"{name}: T = {duration:.2f} s, {killed} of {KILLS} runs killed")
