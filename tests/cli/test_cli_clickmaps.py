"""``psychoalign clickmaps``: refusals are one sentence (the end-to-end run is in tests/lab)."""

from __future__ import annotations

from typer.testing import CliRunner

from psychoalign.cli import app
from support import HUMAN_RAW

runner = CliRunner()


def _one_error(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return " ".join(output.split())


def test_build_refuses_trials_without_clicks(tmp_path):
    out = tmp_path / "maps.npz"
    result = runner.invoke(app, ["clickmaps", "build", str(HUMAN_RAW / "edge"), "--out", str(out)])
    assert result.exit_code == 2
    assert "has no 'clicks' column" in _one_error(result.output)
    assert not out.exists()


def test_align_refuses_a_missing_maps_file(tmp_path):
    maps = tmp_path / "nothere.npz"
    out = tmp_path / "aligned"
    result = runner.invoke(app, ["clickmaps", "align", str(maps), "--out", str(out)])
    assert result.exit_code == 2
    assert str(maps) in _one_error(result.output)
    assert not out.exists()


def test_align_refuses_a_file_that_is_no_maps_file_before_loading_a_model(tmp_path):
    table = tmp_path / "grid.csv"
    table.write_text("image,x\ncat1.png,1\n")
    out = tmp_path / "aligned"
    result = runner.invoke(
        app, ["clickmaps", "align", str(table), "--model", "no_such_model", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert (
        f"{table}: is not a maps file made by 'clickmaps build' (an .npz file with a .json "
        "sidecar beside it)." in _one_error(result.output)
    )
    assert not out.exists()
