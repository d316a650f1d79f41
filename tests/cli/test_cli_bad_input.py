"""Bad input at the command line: exit code 2, one sentence naming where, nothing written.

Each case builds one kind of bad input (a trial table, a stimulus set, a config, a model
file, click data, a metamer or ClickMe map file, an option) in ``inputs`` and runs one
command whose outputs go under the empty folder ``work``. Every case must end with exit
code 2 and one line ``error: ...`` that is one sentence, ending in a full stop and naming
the file, row and column or the option given; no traceback; and ``work`` still empty
(no output, no temporary). The README's table "Bad input and what you are told" lists
the kinds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.datasets import stimulus_set
from psychoalign.metrics.clickmaps import build_maps
from psychoalign.trials import write_trials
from support import HUMAN_RAW, clickme_trials

runner = CliRunner()

EDGE = HUMAN_RAW / "edge" / "edge_subject-01_session_1.csv"
IMAGES = ["cat1.png", "dog1.png"]
TINY = "squeezenet1_1"


@dataclass(frozen=True)
class Inputs:
    """The good inputs every case starts from (made once), and its own folders."""

    root: Path  # the case's own folder for the bad input
    work: Path  # empty; every output of the case goes here
    shared: Path  # the good inputs, shared by all cases (never changed)

    @property
    def tiny_set(self) -> Path:
        return self.shared / "two"

    def copy_set(self) -> Path:
        """A copy of the two-image set to break."""
        return Path(shutil.copytree(self.tiny_set, self.root / "two"))

    def session(self, **changes: object) -> Path:
        """A clickme session file (one row per image) with ``changes`` to its columns."""
        frame = pd.read_csv(self.shared / "clickme" / "sub-01_ses-1.csv", dtype=str)
        for column, value in changes.items():
            frame.loc[0, column] = value
        folder = self.root / "clickme"
        folder.mkdir()
        frame.to_csv(folder / "sub-01_ses-1.csv", index=False)
        return folder / "sub-01_ses-1.csv"

    def maps(self, **arrays: object) -> Path:
        """A copy of the good maps file with arrays replaced (None: removed) + its sidecar."""
        with np.load(self.shared / "maps.npz") as data:
            saved = {name: data[name] for name in data.files}
        saved = {name: value for name, value in {**saved, **arrays}.items() if value is not None}
        path = self.root / "maps.npz"
        np.savez(path, **saved)
        shutil.copy(self.shared / "maps.json", self.root / "maps.json")
        return path


@dataclass(frozen=True)
class Case:
    """One kind of bad input: how to make it and run it, and what the message must name."""

    kind: str
    make: Callable[[Inputs], list[str]]
    names: Callable[[Inputs], list[str]]
    subprocess: bool = False


# --- how the bad inputs are made ---------------------------------------------------------


def _trial_file(inputs: Inputs, edit: Callable[[list[str]], list[str]], name: str) -> Path:
    lines = EDGE.read_text().splitlines()
    path = inputs.root / name
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


def _compare(path: Path, inputs: Inputs, *options: str) -> list[str]:
    return ["compare", str(path), "--out", str(inputs.work / "results"), *options]


def _own_trials(inputs: Inputs, **changes: object) -> Path:
    """A psychoalign trial file of two trials with ``changes`` to the second row."""
    frame = pd.DataFrame(
        {
            "experiment": "toy",
            "observer": "s1",
            "observer_kind": "human",
            "session": 1,
            "trial": [1, 2],
            "stimulus": ["cat/cat1.png", "dog/dog1.png"],
            "image": IMAGES,
            "condition": "0",
            "category": ["cat", "dog"],
            "response": ["cat", "cat"],
            "correct": [True, False],
            "rt": 0.5,
        }
    ).astype(object)
    for column, value in changes.items():
        if value is None:
            frame = frame.drop(columns=column)
        else:
            frame.loc[1, column] = value
    path = inputs.root / "sub-s1_ses-1.csv"
    frame.to_csv(path, index=False)
    return path


def _manifest(inputs: Inputs, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    folder = inputs.copy_set()
    manifest = folder / "manifest.csv"
    edit(pd.read_csv(manifest, dtype=str)).to_csv(manifest, index=False)
    return folder


def _make(source: Path | str, inputs: Inputs, *options: str) -> list[str]:
    return [
        *("stimuli", "make", str(source), "--manipulation", "contrast"),
        *("--out", str(inputs.work / "new"), *options),
    ]


def _undecodable(inputs: Inputs) -> list[str]:
    import hashlib

    folder = inputs.copy_set()
    (folder / "cat" / "cat1.png").write_bytes(b"\x89PNG\r\n\x1a\n but no image data")
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str)
    data = (folder / "cat" / "cat1.png").read_bytes()
    manifest.loc[manifest.stimulus == "cat/cat1.png", "sha256"] = hashlib.sha256(data).hexdigest()
    manifest.to_csv(folder / "manifest.csv", index=False)
    return _make(folder, inputs)


def _run(config_text: str, inputs: Inputs) -> list[str]:
    config = inputs.root / "lab.yaml"
    config.write_text(config_text)
    return [
        *("run", "rapid_categorization", "--participant", "91", "--simulate", "random"),
        *("--config", str(config), "--data-dir", str(inputs.work / "data"), "--window"),
    ]


def _evaluate(model: str, inputs: Inputs, *options: str) -> list[str]:
    return [
        *("evaluate", "--model", model, "--stimuli", str(inputs.tiny_set)),
        *("--out", str(inputs.work / "runs"), "--device", "cpu", *options),
    ]


class _TwoWay(torch.nn.Module):
    """A two-output model (mean colour -> two logits)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.mean(dim=(2, 3)))


class _Marker:
    """Unpickling this creates a marker file: the proof that a pickle ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _labels(inputs: Inputs, count: int) -> Path:
    path = inputs.root / f"labels{count}.txt"
    path.write_text("".join(f"label{i}\n" for i in range(count)))
    return path


def _pickled_model(inputs: Inputs) -> list[str]:
    path = inputs.root / "whole.pt"
    torch.save(_TwoWay(), path)
    labels = inputs.root / "cat-dog.txt"
    labels.write_text("cat\ndog\n")
    return _evaluate(str(path), inputs, "--labels", str(labels), "--mapping", "identity")


def _malicious_pickle(inputs: Inputs) -> list[str]:
    path = inputs.root / "evil.pt"
    torch.save({"model": _Marker(inputs.root / "MARKER")}, path)
    return _evaluate(str(path), inputs, "--labels", str(_labels(inputs, 2)))


def _torchscript_wrong_labels(inputs: Inputs) -> list[str]:
    path = inputs.root / "two.ts"
    torch.jit.save(torch.jit.script(_TwoWay()), str(path))
    return _evaluate(str(path), inputs, "--labels", str(_labels(inputs, 3)))


def _weights(inputs: Inputs, content: object) -> list[str]:
    path = inputs.root / "weights.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    return _evaluate(TINY, inputs, "--weights", str(path))


def _build(session: Path, inputs: Inputs, *options: str) -> list[str]:
    return [
        *("clickmaps", "build", str(session.parent), "--stimuli", str(inputs.tiny_set)),
        *("--out", str(inputs.work / "maps.npz"), *options),
    ]


def _align(maps: Path, inputs: Inputs, *options: str) -> list[str]:
    return ["clickmaps", "align", str(maps), "--out", str(inputs.work / "aligned"), *options]


def _clicks(*clicks: dict) -> str:
    return json.dumps(list(clicks))


def _metamer_set(inputs: Inputs, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    """The two-image set dressed as a metamer set, then edited."""
    folder = inputs.copy_set()
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str)
    manifest = manifest.assign(model="efficientnet_lite0", layer="", valid="True")
    edit(manifest).to_csv(folder / "manifest.csv", index=False)
    return folder


def _recognisability(inputs: Inputs, *options: str, stimuli: Path | None = None) -> list[str]:
    trials = _own_trials(inputs)
    return [
        *("metamers", "recognisability", str(trials)),
        *("--stimuli", str(stimuli or inputs.tiny_set), "--out", str(inputs.work / "r")),
        *options,
    ]


# --- the table -------------------------------------------------------------------------

_NAME = "sub-s1_ses-1.csv"
_SESSION = "sub-01_ses-1.csv"
_OUTSIDE = {"row": 300, "col": 5, "t": 0.5}

CASES = [
    # trial tables
    Case(
        "trial file: a required column missing",
        lambda i: _compare(_own_trials(i, response=None), i),
        lambda i: [_NAME, "'response'"],
    ),
    Case(
        "trial file: a value that is not a number",
        lambda i: _compare(
            _trial_file(
                i,
                lambda lines: [*lines[:4], lines[4].replace(",1,", ",x,", 1), *lines[5:]],
                "edge_subject-01_session_1.csv",
            ),
            i,
        ),
        lambda i: ["edge_subject-01_session_1.csv", "row 5", "'session'"],
    ),
    Case(
        "trial file: an unknown category",
        lambda i: _compare(
            _trial_file(
                i,
                lambda lines: [
                    *lines[:3],
                    lines[3].replace(",elephant,0,", ",unicorn,0,"),
                    *lines[4:],
                ],
                "edge_subject-01_session_1.csv",
            ),
            i,
        ),
        lambda i: ["edge_subject-01_session_1.csv", "row 4", "'category'", "unicorn"],
    ),
    Case(
        "trial file: empty",
        lambda i: _compare(_trial_file(i, lambda lines: [], "empty.csv"), i),
        lambda i: ["empty.csv"],
    ),
    Case(
        "trial file: not CSV (binary)",
        lambda i: (
            (i.root / "image.csv").write_bytes(bytes(range(256)) * 4),
            _compare(i.root / "image.csv", i),
        )[1],
        lambda i: ["image.csv"],
    ),
    Case(
        "trial file: a trial given twice",
        lambda i: _compare(_own_trials(i, trial=1, response="dog", correct=True), i),
        lambda i: [_NAME, "row 3", "'trial'"],
    ),
    Case(
        "trial file: a negative response time",
        lambda i: _compare(_own_trials(i, rt=-0.2), i),
        lambda i: [_NAME, "row 3", "'rt'"],
    ),
    Case(
        "trial file: 'correct' contradicts the response",
        lambda i: _compare(_own_trials(i, correct=True), i),
        lambda i: [_NAME, "row 3", "'correct'"],
    ),
    Case(
        "trial file: an unknown observer kind",
        lambda i: _compare(_own_trials(i, observer_kind="robot"), i),
        lambda i: [_NAME, "row 3", "'observer_kind'"],
    ),
    Case(
        "trial file: a name with brackets (not read as markup)",
        lambda i: _compare(
            Path(shutil.copy(_own_trials(i, rt=-1), i.root / "[red]sub-s1_ses-1.csv")), i
        ),
        lambda i: ["[red]sub-s1_ses-1.csv", "row 3", "'rt'"],
    ),
    Case(
        "trial files: a path that matches nothing",
        lambda i: _compare(i.root / "nothing*.csv", i),
        lambda i: ["nothing*.csv"],
    ),
    Case(
        "trial files: a column mapping naming a missing column",
        lambda i: _compare(_own_trials(i), i, "--columns", "response=key_resp.keys"),
        lambda i: [_NAME, "key_resp.keys"],
    ),
    # stimulus sets and manifests
    Case(
        "manifest: a column missing",
        lambda i: _make(_manifest(i, lambda m: m.drop(columns="sha256")), i),
        lambda i: ["manifest.csv", "'sha256'"],
    ),
    Case(
        "manifest: an empty cell",
        lambda i: _make(_manifest(i, lambda m: m.assign(category=["cat", ""])), i),
        lambda i: ["manifest.csv", "row 3", "'category'"],
    ),
    Case(
        "manifest: a path that escapes the set (../../x.png)",
        lambda i: _make(
            _manifest(i, lambda m: m.assign(stimulus=["../../x.png", m.stimulus[1]])), i
        ),
        lambda i: ["manifest.csv", "row 2", "'stimulus'", "../../x.png"],
    ),
    Case(
        "manifest: an absolute path",
        lambda i: _make(
            _manifest(i, lambda m: m.assign(stimulus=["/etc/passwd", m.stimulus[1]])), i
        ),
        lambda i: ["manifest.csv", "row 2", "'stimulus'", "/etc/passwd"],
    ),
    Case(
        "manifest: a stimulus listed twice",
        lambda i: _make(_manifest(i, lambda m: m.assign(stimulus=[m.stimulus[0]] * 2)), i),
        lambda i: ["manifest.csv", "rows 2 and 3", "'stimulus'"],
    ),
    Case(
        "manifest: not CSV (binary)",
        lambda i: (
            (i.copy_set() / "manifest.csv").write_bytes(bytes(range(256)) * 4),
            _make(i.root / "two", i),
        )[1],
        lambda i: ["manifest.csv", "cannot be read as CSV (Expected 1 fields in line 3"],
    ),
    Case(
        "stimulus set: an image altered (checksum mismatch)",
        lambda i: (
            (i.copy_set() / "cat" / "cat1.png").write_bytes(b"tampered"),
            _make(i.root / "two", i),
        )[1],
        lambda i: ["cat1.png", "altered"],
    ),
    Case(
        "stimulus set: an image file missing",
        lambda i: ((i.copy_set() / "dog" / "dog1.png").unlink(), _make(i.root / "two", i))[1],
        lambda i: ["dog1.png", "missing"],
    ),
    Case(
        "stimulus set: an image that cannot be decoded",
        _undecodable,
        lambda i: ["cat1.png"],
    ),
    Case(
        "stimulus set: stimulus_set.json not JSON",
        lambda i: (
            (i.copy_set() / "stimulus_set.json").write_text("{name: two"),
            _make(i.root / "two", i),
        )[1],
        lambda i: ["stimulus_set.json"],
    ),
    Case(
        "stimulus listing: a CSV without its 'file' column",
        lambda i: (
            (i.root / "listing.csv").write_text("path,category\ncat/cat1.png,cat\n"),
            _make(i.root / "listing.csv", i),
        )[1],
        lambda i: ["listing.csv", "'file'"],
    ),
    # lab configurations (refused before a window opens: no display is given)
    Case(
        "lab config: YAML that is not a mapping",
        lambda i: _run("- just\n- a list\n", i),
        lambda i: ["lab.yaml", "mapping"],
        subprocess=True,
    ),
    Case(
        "lab config: invalid YAML",
        lambda i: _run("durations_ms: {stimulus: 200\n", i),
        lambda i: ["lab.yaml", "YAML"],
        subprocess=True,
    ),
    Case(
        "lab config: a file that does not exist",
        lambda i: [arg.replace("lab.yaml", "none.yaml") for arg in _run("", i)],
        lambda i: ["none.yaml"],
        subprocess=True,
    ),
    # model files
    Case(
        "weights: a file that is not PyTorch",
        lambda i: _weights(i, b"these are not weights"),
        lambda i: ["weights.pth"],
    ),
    Case(
        "weights: a state dict that does not fit the model",
        lambda i: _weights(i, {"features.0.weight": torch.zeros(2, 2)}),
        lambda i: ["weights.pth", TINY, "'features.0.weight' is 2 x 2 in the file"],
    ),
    Case(
        "weights: a pickle of objects besides tensors (never run)",
        lambda i: _weights(i, {"model": _Marker(i.root / "MARKER")}),
        lambda i: ["weights.pth", "never unpickles"],
    ),
    Case(
        "model file: a pickled model without --trust-pickle",
        _pickled_model,
        lambda i: ["whole.pt", "--trust-pickle", "pickle"],
    ),
    Case(
        "model file: a malicious pickle (never run)",
        _malicious_pickle,
        lambda i: ["evil.pt", "--trust-pickle"],
    ),
    Case(
        "model file: a labels file with the wrong count",
        _torchscript_wrong_labels,
        lambda i: ["labels3.txt", "3 labels", "2 outputs"],
    ),
    Case(
        "model file: missing",
        lambda i: _evaluate(str(i.root / "gone.pt"), i, "--labels", str(_labels(i, 2))),
        lambda i: ["gone.pt"],
    ),
    # click data
    Case(
        "clicks: invalid JSON",
        lambda i: _build(i.session(clicks='[{"row": 1,'), i),
        lambda i: [_SESSION, "row 2", "'clicks'", "JSON"],
    ),
    Case(
        "clicks: a click outside the image",
        lambda i: _build(i.session(clicks=_clicks(_OUTSIDE)), i),
        lambda i: [_SESSION, "row 2", "'clicks'", "outside"],
    ),
    Case(
        "clicks: a negative time",
        lambda i: _build(i.session(clicks=_clicks({"row": 1, "col": 1, "t": -0.5})), i),
        lambda i: [_SESSION, "row 2", "'clicks'", "-0.5"],
    ),
    Case(
        "clicks: a click without a time",
        lambda i: _build(i.session(clicks=_clicks({"row": 1, "col": 1})), i),
        lambda i: [_SESSION, "row 2", "'clicks'", "'t'"],
    ),
    Case(
        "clicks: an image size that is not a number",
        lambda i: _build(i.session(image_height="tall"), i),
        lambda i: [_SESSION, "row 2", "'image_height'"],
    ),
    # ClickMe map files
    Case(
        "maps file: an array missing",
        lambda i: _align(i.maps(clicks=None), i),
        lambda i: ["maps.npz", "'clicks'"],
    ),
    Case(
        "maps file: an array of the wrong shape",
        lambda i: _align(i.maps(clicks=np.zeros((5, 3), np.int64)), i),
        lambda i: ["maps.npz", "'clicks'", "(5, 3)"],
    ),
    Case(
        "maps file: a pickled object array",
        lambda i: _align(i.maps(images=np.array([{"a": 1}, None], dtype=object)), i),
        lambda i: ["maps.npz", "'images'", "pickled"],
    ),
    Case(
        "maps file: a click index outside the images",
        lambda i: _align(i.maps(clicks=np.array([[7, 0, 1, 1]], np.int64)), i),
        lambda i: ["maps.npz", "'clicks'", "row 0"],
    ),
    Case(
        "maps file: not an .npz",
        lambda i: ((i.root / "maps.npz").write_text("maps"), _align(i.root / "maps.npz", i))[1],
        lambda i: ["maps.npz"],
    ),
    Case(
        "maps file: its sidecar missing",
        lambda i: (_align(i.maps(), i), (i.root / "maps.json").unlink())[0],
        lambda i: ["maps.json"],
    ),
    Case(
        "maps file: its sidecar not JSON",
        lambda i: (_align(i.maps(), i), (i.root / "maps.json").write_text("{"))[0],
        lambda i: ["maps.json", "JSON"],
    ),
    # metamer sets and files
    Case(
        "metamer set: manifest without 'valid'",
        lambda i: [
            *("metamers", "show", str(_metamer_set(i, lambda m: m.drop(columns="valid")))),
            *("--out", str(i.work / "grid")),
        ],
        lambda i: ["manifest.csv", "'valid'"],
    ),
    Case(
        "metamer set: recognisability of a set that is no metamer set",
        lambda i: _recognisability(i),
        lambda i: ["two/manifest.csv", "'model'"],
    ),
    Case(
        "published metamers: a .mat file that is not MATLAB",
        lambda i: (
            (i.root / "Experiment1_datamatrix_net_public.mat").write_text("not matlab"),
            [
                "metamers",
                "published",
                str(i.root / "Experiment1_datamatrix_net_public.mat"),
                "--out",
                str(i.work / "p"),
            ],
        )[1],
        lambda i: ["Experiment1_datamatrix_net_public.mat"],
    ),
    # options
    Case(
        "option: negative --n-boot",
        lambda i: _compare(EDGE, i, "--n-boot", "-1"),
        lambda i: ["--n-boot"],
    ),
    Case(
        "option: negative --n-splits",
        lambda i: _compare(EDGE, i, "--n-splits", "-5"),
        lambda i: ["--n-splits"],
    ),
    Case(
        "option: an unknown --preset",
        lambda i: _compare(EDGE, i, "--preset", "brainscore"),
        lambda i: ["--preset", "brainscore"],
    ),
    Case(
        "option: levels out of range",
        lambda i: _make("edge", i, "--levels", "c50,2"),
        lambda i: ["levels", "'2'"],
    ),
    Case(
        "option: an unknown manipulation",
        lambda i: [
            *("stimuli", "make", "edge", "--manipulation", "blurr"),
            *("--out", str(i.work / "new")),
        ],
        lambda i: ["--manipulation", "blurr"],
    ),
    Case(
        "option: an unknown model name",
        lambda i: _evaluate("resnet5O", i),
        lambda i: ["model", "resnet5O"],
    ),
    Case(
        "option: an unknown method",
        lambda i: _align(i.maps(), i, "--method", "gradcam"),
        lambda i: ["--method", "gradcam"],
    ),
    Case(
        "option: an unknown decision mapping",
        lambda i: _evaluate(TINY, i, "--mapping", "imagenet-17", "--weights", "random"),
        lambda i: ["mapping", "imagenet-17"],
    ),
    Case(
        "option: --batch-size 0",
        lambda i: _evaluate(TINY, i, "--batch-size", "0", "--weights", "random"),
        lambda i: ["--batch-size"],
    ),
    Case(
        "option: --min-participants 0",
        lambda i: _build(i.session(), i, "--min-participants", "0"),
        lambda i: ["--min-participants"],
    ),
    Case(
        "option: a negative --blur",
        lambda i: _build(i.session(), i, "--blur", "-3"),
        lambda i: ["--blur"],
    ),
    Case(
        "option: an unknown metamer layer",
        lambda i: [
            *("metamers", "--layers", "_blocks.99", "--stimuli", str(i.tiny_set)),
            *("--out", str(i.work / "m"), "--steps", "8", "--rounds", "1"),
        ],
        lambda i: ["layer", "_blocks.99"],
    ),
    Case(
        "option: --rounds 0",
        lambda i: [
            *("metamers", "--layers", "_blocks.1", "--stimuli", str(i.tiny_set)),
            *("--out", str(i.work / "m"), "--rounds", "0"),
        ],
        lambda i: ["--rounds"],
    ),
    Case(
        "option: an unknown --size-handling",
        lambda i: _evaluate(TINY, i, "--size-handling", "stretch", "--weights", "random"),
        lambda i: ["--size-handling", "stretch"],
    ),
    Case(
        "option: negative --n-boot of recognisability",
        lambda i: _recognisability(i, "--n-boot", "-1", stimuli=_metamer_set(i, lambda m: m)),
        lambda i: ["--n-boot"],
    ),
    Case(
        "trial file: a response outside the task's categories",
        lambda i: _compare(_own_trials(i, response="giraffe"), i),
        lambda i: [_NAME, "row 3", "'response'", "giraffe", "cat, dog"],
    ),
    Case(
        "trial file: an image seen twice by one observer",
        lambda i: _compare(
            _own_trials(i, image="cat1.png", category="cat", response="cat", correct=True), i
        ),
        lambda i: [_NAME, "row 3", "row 2", "'image'", "cat1.png"],
    ),
]


# --- the shared good inputs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("good")
    two = stimulus_set("silhouette").subset(images=IMAGES).write(root / "two", name="two")
    rng = np.random.default_rng(0)
    frame = two.frame()
    clicks = [
        _clicks(
            *({"row": int(r), "col": int(c), "t": 0.4} for r, c in rng.integers(0, 224, (3, 2)))
        )
        for _ in range(len(frame))
    ]
    trials = clickme_trials(frame, "01", clicks)
    (root / "clickme").mkdir()
    write_trials(trials, root / "clickme" / _SESSION)
    from psychoalign.metrics.clickmaps import click_table

    build_maps(click_table(trials)).save(root / "maps.npz")
    record = {
        "stimulus_set": {**two.identity(), "path": str(two.path.resolve())},
        "stimuli": list(frame["stimulus"]),
    }
    (root / "maps.json").write_text(json.dumps(record))
    return root


def _invoke(case: Case, arguments: list[str]) -> tuple[int, str]:
    if not case.subprocess:
        result = runner.invoke(app, arguments)
        return result.exit_code, result.output
    # No display: a window opened before the config was refused would crash instead.
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [sys.executable, "-m", "psychoalign.cli", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_table_has_thirty_distinct_kinds():
    kinds = [case.kind for case in CASES]
    assert len(set(kinds)) == len(kinds) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(case, shared, tmp_path):
    inputs = Inputs(root=tmp_path / "inputs", work=tmp_path / "work", shared=shared)
    inputs.root.mkdir()
    inputs.work.mkdir()
    arguments = case.make(inputs)
    code, output = _invoke(case, arguments)
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, output
    # The error is the last thing said, on one line.
    message = output[output.index("error:") :].removeprefix("error:").strip()
    assert "\n" not in message and message.endswith("."), message
    # One sentence: no full stop followed by a new sentence inside.
    assert not re.search(r"[.;!?] [A-Z][a-z]", message), message
    for name in case.names(inputs):
        assert name in message, f"{name!r} not in: {message}"
    assert list(inputs.work.iterdir()) == [], "something was written"
    assert not (inputs.root / "MARKER").exists(), "a pickle ran code"


def test_trust_pickle_lets_a_pickled_model_run(shared, tmp_path):
    inputs = Inputs(root=tmp_path / "inputs", work=tmp_path / "work", shared=shared)
    inputs.root.mkdir()
    arguments = [*_pickled_model(inputs), "--trust-pickle"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert (inputs.work / "runs" / "two" / "whole+identity" / "trials.csv").is_file()
