"""Progress bars draw on a terminal only: piped output has no blank lines or control codes."""

from __future__ import annotations

import io
import subprocess
import sys

from PIL import Image
from rich.console import Console

from psychoalign._progress import progress_bar


def test_a_piped_command_prints_no_blank_lines_or_control_codes(tmp_path):
    # `stimuli make` shows a progress bar; two tiny images keep it fast.
    for category, shade in (("cat", 60), ("dog", 190)):
        (tmp_path / "source" / category).mkdir(parents=True)
        Image.new("L", (32, 32), shade).save(tmp_path / "source" / category / f"{category}.png")
    source, out = str(tmp_path / "source"), str(tmp_path / "out")
    options = ["--manipulation", "uniform-noise", "--levels", "0.1", "--out", out]
    result = subprocess.run(
        [sys.executable, "-m", "psychoalign.cli", "stimuli", "make", source, *options],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{out}: 2 stimuli"), result.stdout
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\r" not in stream, repr(stream)
        assert "" not in stream.splitlines(), repr(stream)


def test_the_bar_draws_only_on_a_terminal_and_when_shown():
    def bar(**options):
        return progress_bar(show=options.pop("show", True), console=Console(**options))

    assert bar(file=io.StringIO()).disable
    assert not bar(file=io.StringIO(), force_terminal=True).disable
    assert bar(file=io.StringIO(), force_terminal=True, show=False).disable
    assert progress_bar().console.stderr


def test_a_disabled_bar_writes_nothing():
    out = io.StringIO()
    with progress_bar("{task.description}", console=Console(file=out), transient=True) as bar:
        bar.advance(bar.add_task("work", total=2), 2)
    assert out.getvalue() == ""
