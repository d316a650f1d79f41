"""The README's commands, run in order on a fresh copy of the repository.

Every ```` ```bash ```` block runs command by command with ``bash -e`` and every
```` ```python ```` block as a script, in the order of the README, in one copy of the
checkout's tracked and unignored files, with ``../shared/data`` beside it and a cache of
its own. Blocks without a language only show output. What cannot run in a test is marked
in the README (``tests/readme_blocks.py`` describes the markers), and each such marker
must give its reason and name the test that covers it.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readme_blocks import Block, Command, describe, marker_problems, read_blocks
from support import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = read_blocks(ROOT / "README.md")
RUN = [block for block in BLOCKS if block.runs]
#: Commands that open a PsychoPy window get a virtual display of their own.
NEEDS_DISPLAY = ("psychoalign run ", "python experiments/")
COMMAND_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A copy of the checkout (``git ls-files -co --exclude-standard``) and its environment."""
    top = tmp_path_factory.mktemp("readme")
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    copy = top / "psychoalign"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (top / "shared").mkdir()
    (top / "shared" / "data").symlink_to(SHARED_DATA.resolve(), target_is_directory=True)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PSYCHOALIGN_CACHE": str(top / "cache"),
        "PSYCHOALIGN_SHARED_DATA": str(top / "shared" / "data"),
    }
    env.pop("PSYCHOALIGN_DATA_DIR", None)
    env.pop("PSYCHOALIGN_EXPERIMENTS", None)
    return copy, env


def test_every_marker_gives_a_reason_and_a_covering_test(capsys):
    problems = [p for block in BLOCKS for p in marker_problems(block, ROOT)]
    with capsys.disabled():
        for block in BLOCKS:
            if block.markers:
                print("\n" + describe(block))
    assert not problems, "\n".join(problems)


def test_the_readme_has_commands_to_run():
    assert [b for b in RUN if b.language == "bash"] and [b for b in RUN if b.language == "python"]


@pytest.mark.parametrize("block", RUN, ids=[f"line-{b.line}-{b.language}" for b in RUN])
def test_the_readme_block_runs_as_written(block: Block, clone, capsys):
    copy, env = clone
    started, cpu = time.monotonic(), _children_cpu_s()
    if block.language == "python":
        script = copy.parent / f"readme-line-{block.line}.py"
        script.write_text(block.text + "\n")
        _check(block, block.text, [sys.executable, str(script)], copy, env)
    else:
        commands, left_out = block.planned()
        for command, marker in left_out:
            with capsys.disabled():
                print(f"\nREADME.md line {command.line} not run: {command.code} ({marker.reason})")
        for command in commands:
            _check(block, command.text, _bash(command), copy, env)
    with capsys.disabled():
        wall, used = time.monotonic() - started, _children_cpu_s() - cpu
        print(f"\nREADME.md line {block.line}: {wall:.1f} s ({used:.1f} s of CPU)")


def _children_cpu_s() -> float:
    """CPU seconds (user and system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _bash(command: Command) -> list[str]:
    """The argument list that runs ``command`` with ``bash -e`` (on Xvfb when it needs one)."""
    line = ["bash", "-e", "-o", "pipefail", "-c", command.text]
    if command.code.startswith(NEEDS_DISPLAY):
        return ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24 -nolisten tcp", *line]
    return line


def _check(block: Block, shown: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run ``args`` in ``cwd``; on a non-zero exit, fail with the block, command and stderr."""
    try:
        done = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{describe(block)}\n{shown}\ntook over {COMMAND_TIMEOUT_S} s.", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{describe(block)}\n--- block ---\n{block.text}\n--- command (exit "
            f"{done.returncode}) ---\n{shown}\n--- stdout (end) ---\n{done.stdout[-2000:]}"
            f"\n--- stderr (end) ---\n{done.stderr[-4000:]}",
            pytrace=False,
        )
