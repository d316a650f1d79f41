"""The README's code blocks, the ``readme-test`` markers before them, and their commands.

A marker is an HTML comment on the lines right before a block (blank lines may sit
between them), one of::

    <!-- readme-test: not run (REASON; covered by tests/x.py[::test_name][, ...]) -->
    <!-- readme-test: not run "PREFIX" (REASON; covered by tests/x.py[::test_name]) -->
    <!-- readme-test: run "PREFIX" with ARGS (REASON) -->
    <!-- readme-test: run with ARGS (REASON) -->

``not run`` without a prefix leaves the whole block out; with a prefix, every command
of the block that starts with it. ``run ... with ARGS`` appends ARGS to each command
starting with PREFIX (without a prefix, to the block's only command), before its shell
comment. A module of its own (not conftest) so that the test imports it by a name no
other test folder uses.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
MARKER_BODY = re.compile(
    r'^(?P<kind>not run|run)(?:\s+"(?P<prefix>[^"]+)")?(?:\s+with\s+(?P<args>.+?))?'
    r"\s*\((?P<reason>.+)\)$"
)
#: Languages whose blocks are run; a block without a language only shows output.
RUN_LANGUAGES = ("bash", "python")


@dataclass(frozen=True)
class Marker:
    """One ``readme-test`` comment: what it does to its block and why."""

    line: int
    kind: str
    prefix: str | None
    args: str | None
    reason: str

    @property
    def covered_by(self) -> list[str]:
        """The tests named after ``covered by`` in the reason (empty when none)."""
        _, _, tests = self.reason.partition("covered by")
        return [name.strip() for name in re.split(r",|\band\b", tests) if name.strip()]

    def matches(self, command: Command) -> bool:
        """Whether the marker is about ``command`` (every command when it has no prefix)."""
        return self.prefix is None or command.code.startswith(self.prefix)


@dataclass(frozen=True)
class Command:
    """One command of a bash block: its code (continuations joined) and its comment."""

    line: int
    text: str
    code: str

    def with_args(self, args: str) -> Command:
        """The command with ``args`` appended to its code, before its trailing comment."""
        lines = self.text.split("\n")
        code, comment = split_comment(lines[-1])
        lines[-1] = f"{code.rstrip()} {args}" + (f"  {comment}" if comment else "")
        return Command(self.line, "\n".join(lines), f"{self.code} {args}")


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README, with the markers right before it."""

    line: int
    language: str
    text: str
    markers: tuple[Marker, ...] = field(default=())

    @property
    def runs(self) -> bool:
        """Whether any of it runs (a runnable language, not wholly marked ``not run``)."""
        whole = any(m.kind == "not run" and m.prefix is None for m in self.markers)
        return self.language in RUN_LANGUAGES and not whole

    def commands(self) -> list[Command]:
        """The bash commands in order, comment lines dropped, continuations joined."""
        commands, pending, start = [], [], 0
        for number, line in enumerate(self.text.split("\n"), start=self.line + 1):
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            start = start if pending else number
            pending.append(line)
            if not line.endswith("\\"):
                code = " ".join(split_comment(part.rstrip("\\"))[0].strip() for part in pending)
                commands.append(Command(start, "\n".join(pending), code))
                pending = []
        return commands

    def planned(self) -> tuple[list[Command], list[tuple[Command, Marker]]]:
        """The commands to run (``run with`` applied) and those left out, with their marker."""
        run, left_out = [], []
        for command in self.commands():
            skip = next(
                (m for m in self.markers if m.kind == "not run" and m.matches(command)), None
            )
            if skip is not None:
                left_out.append((command, skip))
                continue
            for marker in self.markers:
                if marker.kind == "run" and marker.matches(command):
                    command = command.with_args(marker.args)
            run.append(command)
        return run, left_out


def split_comment(line: str) -> tuple[str, str]:
    """``line`` split into its code and its shell comment (``#`` after a blank, unquoted)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index], line[index:]
    return line, ""


def parse_marker(line: int, text: str) -> Marker:
    """The marker written ``text`` on README line ``line``; a malformed one is refused."""
    found = MARKER_BODY.match(text)
    if found is None:
        raise ValueError(
            f"README.md line {line}: marker 'readme-test: {text}' is not 'not run [\"PREFIX\"] "
            "(REASON; covered by TEST)' or 'run [\"PREFIX\"] with ARGS (REASON)'."
        )
    return Marker(line, found["kind"], found["prefix"], found["args"], found["reason"].strip())


def read_blocks(readme: Path) -> list[Block]:
    """Every fenced block of ``readme`` in order, each with the markers right before it."""
    blocks, markers, fence = [], [], None
    body: list[str] = []
    for number, line in enumerate(readme.read_text(encoding="utf-8").split("\n"), start=1):
        if fence is not None:
            if line.strip() == "```":
                blocks.append(Block(fence[0], fence[1], "\n".join(body), tuple(markers)))
                fence, body, markers = None, [], []
            else:
                body.append(line)
        elif (opening := FENCE.match(line.strip())) is not None:
            fence = (number, opening[1])
        elif (marker := MARKER.match(line.strip())) is not None:
            markers.append(parse_marker(number, marker[1]))
        elif line.strip():
            markers = []
    return blocks


def marker_problems(block: Block, root: Path) -> list[str]:
    """What is wrong with the block's markers: no reason, no covering test, no command hit."""
    problems = []
    commands = block.commands() if block.language == "bash" else []
    for marker in block.markers:
        where = f"README.md line {marker.line} (block at line {block.line})"
        reason = marker.reason.partition("covered by")[0].strip(" ;,")
        if not reason:
            problems.append(f"{where}: the marker gives no reason.")
        if marker.kind == "not run":
            problems.extend(f"{where}: {p}" for p in _coverage_problems(marker, root))
        if marker.kind == "run" and not marker.args:
            problems.append(f"{where}: 'run' names no arguments to add ('run with ARGS').")
        if marker.prefix is not None and not any(marker.matches(c) for c in commands):
            problems.append(f"{where}: no command of the block starts with '{marker.prefix}'.")
        if marker.kind == "run" and marker.prefix is None and len(commands) != 1:
            problems.append(f"{where}: 'run with' without a prefix needs a one-command block.")
    return problems


def _coverage_problems(marker: Marker, root: Path) -> list[str]:
    """Why the tests a ``not run`` marker names do not cover it (none named, or missing)."""
    if not marker.covered_by:
        return ["a 'not run' marker must say 'covered by tests/...'."]
    problems = []
    for name in marker.covered_by:
        path, _, test = name.partition("::")
        if not (root / path).is_file():
            problems.append(f"the covering test file {path} does not exist.")
        elif test and not re.search(
            rf"^\s*(async\s+)?def {re.escape(test)}\(",
            (root / path).read_text(encoding="utf-8"),
            re.M,
        ):
            problems.append(f"{path} has no test named {test}.")
    return problems


def describe(block: Block) -> str:
    """A few lines naming the block and what the markers leave out or change."""
    lines = [f"README.md line {block.line} ({block.language or 'output'} block)"]
    lines.extend(
        f"  marker line {m.line}: {m.kind}"
        + (f" {shlex.quote(m.prefix)}" if m.prefix else "")
        + (f" with {m.args}" if m.args else "")
        + f" ({m.reason})"
        for m in block.markers
    )
    return "\n".join(lines)
