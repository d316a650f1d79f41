"""Start-up of the command line: ``--help`` imports no heavy module; Ctrl-C is one line.

Each check runs the real entry point (:func:`psychoalign.cli.main`) in a fresh Python
process and reads its ``sys.modules``; none times anything. The interrupts are real
SIGINTs, sent by the process to itself at the first import of a module of psychoalign
or of a heavy package once the command line is imported, so they land inside the lazy
imports of the command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import typer

from psychoalign.cli import app

#: Top-level packages that ``--help`` must not import: each costs from tens of
#: milliseconds (numpy) to seconds (torch) at start-up.
HEAVY = (
    "dask",
    "distributed",
    "matplotlib",
    "numpy",
    "pandas",
    "pingouin",
    "PIL",
    "psychopy",
    "pyglet",
    "scipy",
    "statsmodels",
    "timm",
    "torch",
    "torchvision",
)
#: typer imports pydantic to coerce an option's value, which ``--help`` needs for none.
NOT_FOR_HELP = (*HEAVY, "pydantic")

#: Runs main() on each argument list in turn, in one process, and prints for each the
#: heavy packages it imported that the ones before had not (so the first command to
#: import a package is the one named).
_HELP_RUNS = """
import json, sys
heavy = set(sys.argv[1].split(","))
runs = json.loads(sys.argv[2])

def loaded():
    return {name.split(".")[0] for name in sys.modules} & heavy

from psychoalign.cli import main
seen, found = loaded(), {"import psychoalign.cli": sorted(loaded())}
for args in runs:
    sys.argv = ["psychoalign", *args]
    try:
        main()
    except SystemExit as exit:
        assert exit.code in (0, None), (args, exit.code)
    found[" ".join(args)] = sorted(loaded() - seen)
    seen = loaded()
print(json.dumps(found))
"""


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group below ``command``, as the words that name it.

    Groups are recognised by ``list_commands``: typer 0.20+ carries its own copy of click.
    """
    paths = [path]
    if hasattr(command, "list_commands"):
        context = command.context_class(command)
        for name in command.list_commands(context):
            paths += _command_paths(command.get_command(context, name), (*path, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_every_command_is_found():
    found = {" ".join(path) for path in COMMANDS}
    assert {"", "compare", "stimuli make", "models list", "datasets list"} <= found
    assert {"clickmaps align", "metamers show", "sweep", "run"} <= found


@pytest.fixture(scope="module")
def imported_by_help() -> dict[str, list[str]]:
    """Heavy packages imported by ``import psychoalign.cli``, ``--version`` and each --help."""
    runs = [["--version"], *([*path, "--help"] for path in COMMANDS)]
    result = subprocess.run(
        [sys.executable, "-c", _HELP_RUNS, ",".join(NOT_FOR_HELP), json.dumps(runs)],
        capture_output=True,
        text=True,
        env={"PATH": "", "COLUMNS": "100"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_the_command_line_imports_no_heavy_package(imported_by_help):
    assert imported_by_help["import psychoalign.cli"] == []


def test_version_imports_no_heavy_package(imported_by_help):
    assert imported_by_help["--version"] == []


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "psychoalign")
def test_help_imports_no_heavy_package(imported_by_help, path):
    imported = imported_by_help[" ".join([*path, "--help"])]
    if path[:1] == ("metamers",) and len(path) > 1:
        # The metamers group's own options (--model ...) are coerced before a subcommand's
        # --help is read: typer's pydantic, not psychoalign's.
        imported = [name for name in imported if name != "pydantic"]
    assert imported == []


#: Sends SIGINT to this process (as Ctrl-C would) at the first import of one of the
#: packages named, made after ``import psychoalign.cli`` when "late", else before it;
#: then runs main() on the arguments.
_INTERRUPTED_RUN = """
import importlib.abc, os, signal, sys

class Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in packages:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

when, packages = sys.argv[1], set(sys.argv[2].split(","))
if when == "early":
    sys.meta_path.insert(0, Interrupt())
from psychoalign.cli import main
if when == "late":
    sys.meta_path.insert(0, Interrupt())
sys.argv = ["psychoalign", *sys.argv[3:]]
main()
"""


def _interrupted(
    args: list[str], when: str, packages: tuple[str, ...]
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_RUN, when, ",".join(packages), *args],
        capture_output=True,
        text=True,
        env={"PATH": "", "COLUMNS": "100"},
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "{tmp}/trials.csv", "--out", "{tmp}/out"],
        ["datasets", "list", "--cache", "{tmp}/cache"],
        ["models", "list"],
        ["report", "{tmp}/results"],
        ["clickmaps", "build", "{tmp}/trials.csv"],
        ["metamers", "show", "{tmp}/metamers"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_ctrl_c_during_a_commands_imports_is_one_line_and_exit_130(args, tmp_path):
    # The first module a command imports is of psychoalign or one of the heavy packages.
    typed = [arg.format(tmp=tmp_path) for arg in args]
    result = _interrupted(typed, "late", (*HEAVY, "psychoalign"))
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted; "), result.stderr
    assert result.stdout == ""
    assert sorted(tmp_path.iterdir()) == []


def test_ctrl_c_while_the_command_line_is_imported_is_one_line_and_exit_130():
    result = _interrupted(["--help"], "early", ("typer",))
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "interrupted; nothing was written."
    assert result.stdout == ""
