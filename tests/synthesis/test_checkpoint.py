"""Per-round checkpoints of metamer synthesis: a job killed (SIGKILL) mid-synthesis resumes.

The killed jobs are real processes running the synthesis (or ``psychoalign metamers``),
killed as soon as their first checkpoint file appears, i.e. during round 2 of 3.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from psychoalign._io import read_npz
from psychoalign.cli import app
from psychoalign.datasets import stimulus_set
from psychoalign.errors import StimulusSetError
from psychoalign.synthesis import Metamer, checkpoint_file, checkpoint_folder
from psychoalign.workflows import make_metamer_set

LAYER = "_blocks.0"
# 3 rounds of 15 steps of 2 images: about a second per round, so a kill on seeing the
# first checkpoint lands in round 2.
SCHEDULE = {"rounds": 3, "steps_per_round": 15, "step_size": 4.0}
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

CHILD = """
import sys
import numpy as np
import torch
torch.set_num_threads(1)
from psychoalign.models import load_model
from psychoalign.synthesis import Metamer
metamer = Metamer(load_model("efficientnet_lite0", device="cpu"), sys.argv[1], np.load(sys.argv[2]))
metamer.synthesize(rounds=3, steps_per_round=15, step_size=4.0, progress=False,
                   checkpoint=sys.argv[3])
"""


def _kill_at_first_checkpoint(arguments: list[str], checkpoint: Path) -> int:
    """Run ``python arguments``; SIGKILL it as soon as ``checkpoint`` exists. Its exit code."""
    child = subprocess.Popen(
        [sys.executable, *arguments], env=ONE_THREAD, stderr=subprocess.PIPE, text=True
    )
    while not checkpoint.exists() and child.poll() is None:
        time.sleep(0.005)
    child.kill()
    _, errors = child.communicate()
    assert checkpoint.exists(), errors
    return child.returncode


def _checkpoint(path: Path) -> dict[str, np.ndarray]:
    return read_npz(path, StimulusSetError, f"{path}: not a checkpoint")


@pytest.fixture(scope="module")
def preempted(lite0, naturals, tmp_path_factory):
    """An uninterrupted run, and a run killed after round 1 then resumed in this process."""
    folder = tmp_path_factory.mktemp("preempted")
    np.save(folder / "images.npy", naturals[:2])
    path = folder / "checkpoint.npz"
    status = _kill_at_first_checkpoint(
        ["-c", CHILD, LAYER, str(folder / "images.npy"), str(path)], path
    )
    shutil.copy(path, folder / "after-kill.npz")
    resumed = Metamer(lite0, LAYER, naturals[:2]).synthesize(
        **SCHEDULE, progress=False, checkpoint=path
    )
    whole = Metamer(lite0, LAYER, naturals[:2]).synthesize(**SCHEDULE, progress=False)
    return {"status": status, "whole": whole, "resumed": resumed, "folder": folder}


def test_resumed_synthesis_equals_uninterrupted_synthesis_bit_for_bit(preempted):
    whole, resumed = preempted["whole"], preempted["resumed"]
    assert preempted["status"] == -signal.SIGKILL
    assert np.array_equal(resumed.metamers, whole.metamers)
    assert np.array_equal(resumed.losses, whole.losses)
    assert np.array_equal(resumed.final_loss, whole.final_loss)
    assert resumed.losses.shape == (2, 45)
    finished = _checkpoint(preempted["folder"] / "checkpoint.npz")
    assert int(finished["round"]) == 3 and int(finished["step"]) == 45


def test_a_killed_job_loses_at_most_the_round_it_was_in(lite0, naturals, preempted):
    after_kill = _checkpoint(preempted["folder"] / "after-kill.npz")
    done = int(after_kill["round"])
    # Killed once round 1 was checkpointed, before the end: rounds 1.. were kept.
    assert 1 <= done < 3 and int(after_kill["step"]) == 15 * done
    assert float(after_kill["eta"]) == 4.0 / 2**done  # the next round's step size
    # The checkpoint holds exactly the state of a synthesis of those rounds alone.
    alone = Metamer(lite0, LAYER, naturals[:2]).synthesize(done, 15, 4.0, progress=False)
    assert np.array_equal(after_kill["x"], alone.metamers)
    assert np.array_equal(after_kill["losses"], preempted["whole"].losses[:, : 15 * done])
    # Resuming runs only the remaining rounds: the losses of the rounds done are read back
    # (here made 7.0), not computed again.
    marked = {**after_kill, "losses": np.full_like(after_kill["losses"], 7.0)}
    path = preempted["folder"] / "marked.npz"
    np.savez(path, **marked)
    resumed = Metamer(lite0, LAYER, naturals[:2]).synthesize(
        **SCHEDULE, progress=False, checkpoint=path
    )
    assert (resumed.losses[:, : 15 * done] == 7.0).all()
    assert np.array_equal(resumed.losses[:, 15 * done :], preempted["whole"].losses[:, 15 * done :])
    assert np.array_equal(resumed.metamers, preempted["whole"].metamers)


def test_a_checkpoint_of_other_inputs_is_not_resumed(lite0, naturals, tmp_path):
    schedule = {"rounds": 3, "steps_per_round": 1, "step_size": 4.0, "progress": False}
    path = tmp_path / "checkpoint.npz"
    Metamer(lite0, LAYER, naturals[:1], seed=0).synthesize(**schedule, checkpoint=path)
    others = {
        "initial_sha256, seed": Metamer(lite0, LAYER, naturals[:1], seed=1),
        "images_sha256": Metamer(lite0, LAYER, naturals[1:2], seed=0),
    }
    for differing, metamer in others.items():
        shutil.copy(path, tmp_path / "seed0.npz")
        with pytest.warns(UserWarning, match=rf"other inputs \(differing: {differing}\); not"):
            metamer.synthesize(**schedule, checkpoint=tmp_path / "seed0.npz")
        fresh = Metamer(lite0, LAYER, metamer.images, seed=metamer.seed)
        assert np.array_equal(metamer.metamers, fresh.synthesize(**schedule).metamers)
    with pytest.warns(UserWarning, match=r"differing: rounds, step_size\); not resumed"):
        Metamer(lite0, LAYER, naturals[:1]).synthesize(
            rounds=4, steps_per_round=1, step_size=2.0, progress=False, checkpoint=path
        )
    path.write_bytes(b"not an archive")
    with pytest.warns(UserWarning, match="is not a readable metamer checkpoint; not resumed"):
        Metamer(lite0, LAYER, naturals[:1]).synthesize(**schedule, checkpoint=path)
    assert int(_checkpoint(path)["round"]) == 3  # written anew


def _metamers_command(source: Path, out: Path) -> list[str]:
    return [
        *("metamers", "--layers", LAYER, "--stimuli", str(source), "--images", "2"),
        *("--steps", "45", "--rounds", "3", "--out", str(out)),
    ]


def test_a_killed_metamers_command_reruns_from_its_checkpoints_to_the_same_set(tmp_path):
    source = stimulus_set("edge").subset(categories=["bear"]).write(tmp_path / "edge").path
    runner = CliRunner()
    clean = runner.invoke(app, _metamers_command(source, tmp_path / "clean"))
    assert clean.exit_code == 0, clean.output
    out = tmp_path / "set"
    saved = checkpoint_file(checkpoint_folder(out), LAYER)
    assert saved == tmp_path / ".set.checkpoints" / LAYER / "0.npz"
    launch = "import sys; from psychoalign.cli import app; app(sys.argv[1:], prog_name='p')"
    status = _kill_at_first_checkpoint(["-c", launch, *_metamers_command(source, out)], saved)
    assert status == -signal.SIGKILL and not out.exists()
    assert int(_checkpoint(saved)["round"]) >= 1
    rerun = runner.invoke(app, _metamers_command(source, out))
    assert rerun.exit_code == 0, rerun.output
    for table in ("manifest.csv", "losses.csv", "validation.csv", "null.csv"):
        assert (out / table).read_bytes() == (tmp_path / "clean" / table).read_bytes(), table
    assert not checkpoint_folder(out).exists()  # removed once the set is written


def test_checkpoints_left_beside_a_finished_set_go_with_the_next_run(edge, tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    folder = checkpoint_folder(out)
    (folder / LAYER).mkdir(parents=True)
    # Not marked: a killed run with overwrite=True on an older set; kept for its rerun.
    with pytest.raises(StimulusSetError, match="already exists"):
        make_metamer_set(edge, "efficientnet_lite0", [LAYER], out)
    assert folder.is_dir()
    # Marked: the set was put in place, only the removal of the checkpoints was cut short.
    (folder / "writing-set").write_text("")
    with pytest.raises(StimulusSetError, match="already exists"):
        make_metamer_set(edge, "efficientnet_lite0", [LAYER], out)
    assert not folder.exists()
