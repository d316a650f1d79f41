"""``psychoalign metamers``: its options and refusals (the end-to-end runs are in tests/lab)."""

from __future__ import annotations

from typer.testing import CliRunner

from psychoalign.cli import app

runner = CliRunner()


def _one_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return " ".join(output.split())


def test_making_a_set_needs_layers_stimuli_and_out(tmp_path):
    for arguments in ([], ["--layers", "_blocks.1"], ["--stimuli", "edge", "--out", str(tmp_path)]):
        result = runner.invoke(app, ["metamers", *arguments])
        assert result.exit_code == 2
        assert "--layers, --stimuli and --out are required" in _one_error(result.output)


def test_fewer_steps_than_rounds_is_refused_before_any_synthesis(tmp_path):
    out = tmp_path / "metamers"
    result = runner.invoke(
        app,
        [
            *("metamers", "--layers", "_blocks.1", "--stimuli", "edge", "--out", str(out)),
            *("--steps", "2", "--rounds", "8"),
        ],
    )
    assert result.exit_code == 2
    assert "--steps: 2 is fewer than --rounds (8)." in _one_error(result.output)
    assert not out.exists()


def test_show_and_recognisability_refuse_a_folder_that_is_no_set(tmp_path):
    shown = runner.invoke(app, ["metamers", "show", str(tmp_path)])
    assert shown.exit_code == 2 and "is not a stimulus set" in _one_error(shown.output)
    analysed = runner.invoke(
        app,
        [
            *("metamers", "recognisability", str(tmp_path)),
            *("--stimuli", str(tmp_path), "--out", str(tmp_path / "results")),
        ],
    )
    assert analysed.exit_code == 2 and "is not a stimulus set" in _one_error(analysed.output)
    assert not (tmp_path / "results").exists()
