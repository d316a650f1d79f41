"""ClickMe workflows end to end: trial files -> human maps -> model alignment, and refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from psychoalign.datasets import stimulus_set
from psychoalign.errors import ClickMapError, MissingFileError, TrialDataError
from psychoalign.metrics.clickmaps import (
    ClickMaps,
    alignment_summary,
    build_maps,
    click_table,
)
from psychoalign.trials import read_trials, write_trials
from psychoalign.workflows.clickmaps import align_clickmaps, build_clickmaps

IMAGES = ["cat1.png", "cat2.png", "dog1.png", "dog2.png"]


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """Four silhouettes (224 x 224) as a saved stimulus set."""
    folder = tmp_path_factory.mktemp("set")
    return stimulus_set("silhouette").subset(images=IMAGES).write(folder / "four")


def _session(folder, stimuli, observer: str, seed: int, *, sidecar: bool = True):
    """A clickme session's trial file (one trial per image, 3-6 clicks each) and sidecar."""
    rng = np.random.default_rng(seed)
    frame = stimuli.frame()
    clicks = [
        json.dumps(
            [
                {"row": int(r), "col": int(c), "t": 0.4 * (k + 1), "model_response": "cat"}
                for k, (r, c) in enumerate(rng.integers(40, 184, (rng.integers(3, 7), 2)))
            ]
        )
        for _ in range(len(frame))
    ]
    trials = pd.DataFrame(
        {
            "experiment": "clickme",
            "observer": observer,
            "observer_kind": "human",
            "session": 1,
            "trial": range(1, len(frame) + 1),
            "stimulus": frame["stimulus"],
            "image": frame["image"],
            "condition": frame["condition"],
            "category": frame["category"],
            "response": frame["category"],
            "correct": True,
            "rt": 1.5,
            "clicks": clicks,
            "image_height": 224,
            "image_width": 224,
        }
    )
    path = write_trials(trials, folder / f"sub-{observer}_ses-1.csv")
    if sidecar:
        record = {"stimulus_set": {"path": str(stimuli.path), "checksum": stimuli.checksum}}
        path.with_suffix(".json").write_text(json.dumps(record))
    return path


@pytest.fixture(scope="module")
def sessions(tmp_path_factory, four):
    folder = tmp_path_factory.mktemp("data") / "clickme"
    folder.mkdir()
    for number, observer in enumerate(("01", "02", "03")):
        _session(folder, four, observer, seed=number)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory, sessions):
    out = tmp_path_factory.mktemp("maps") / "maps.npz"
    return build_clickmaps([sessions], out), out


def test_build_writes_the_maps_of_the_trial_files_and_a_sidecar(built, sessions, four):
    maps, out = built
    trials = read_trials(sessions)  # extra columns are read as text
    expected = build_maps(click_table(trials.astype({"image_height": int, "image_width": int})))
    np.testing.assert_array_equal(maps.maps, expected.maps)
    assert maps.images == IMAGES and maps.maps.shape == (4, 224, 224)
    assert (maps.summary().n_participants == 3).all()
    np.testing.assert_array_equal(ClickMaps.load(out).maps, maps.maps)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["stimulus_set"]["checksum"] == four.checksum
    assert sidecar["stimulus_set"]["path"] == str(four.path.resolve())
    assert sidecar["stimuli"] == [f"{image[:3]}/{image}" for image in IMAGES]
    assert sidecar["parameters"] == {"min_participants": 1, "min_clicks": 1, "blur_diameter": 21}
    assert len(sidecar["inputs"]) == 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["maps.json", "maps.npz"]


def test_build_takes_the_stimulus_set_when_the_sidecars_name_none(tmp_path, four):
    _session(tmp_path, four, "01", seed=0, sidecar=False)
    with pytest.raises(TrialDataError, match=r"^--stimuli: the session sidecars name no stimulus"):
        build_clickmaps([tmp_path], tmp_path / "out" / "maps")
    maps = build_clickmaps([tmp_path], tmp_path / "out" / "maps", stimuli=four.path)
    assert maps.images == IMAGES and (tmp_path / "out" / "maps.npz").is_file()


def test_build_refuses_files_without_clicks(tmp_path, four):
    path = _session(tmp_path, four, "01", seed=0)
    write_trials(read_trials(path).drop(columns="clicks"), path)
    with pytest.raises(TrialDataError, match=r"has no 'clicks' column; is it a clickme session"):
        build_clickmaps([path], tmp_path / "maps.npz")


def test_a_bad_click_in_a_file_names_its_observer_session_and_trial(tmp_path, four):
    path = _session(tmp_path, four, "07", seed=0)
    trials = read_trials(path)
    trials.loc[2, "clicks"] = '[{"row": 1, "col": 300, "t": 0.5}]'
    write_trials(trials, path)
    with pytest.raises(ClickMapError) as error:
        build_clickmaps([path], tmp_path / "maps.npz")
    assert str(error.value) == (
        f"{path}: row 4 (observer '07', session 1, trial 3, image 'dog1.png'): column 'clicks' "
        "has click 1 at row 1, col 300, outside the 224 x 224 image."
    )
    assert not (tmp_path / "maps.npz").exists()


def test_a_sidecar_that_is_not_json_is_named(tmp_path, four):
    path = _session(tmp_path, four, "01", seed=0)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(TrialDataError, match=r"sub-01_ses-1\.json: is not valid JSON \("):
        build_clickmaps([path], tmp_path / "maps.npz")


def test_align_writes_tables_maps_and_figures(built, tmp_path):
    _, maps_file = built
    out = tmp_path / "aligned"
    seen = []
    summary = align_clickmaps(
        maps_file, ["efficientnet_lite0"], out, n_splits=5, progress=seen.append
    )
    assert seen == ["efficientnet_lite0 saliency"]
    assert summary[["model", "method", "n_images"]].values.tolist() == [
        ["efficientnet_lite0", "saliency", 4]
    ]
    per_image = pd.read_csv(out / "clickmap_alignment.csv")
    assert list(per_image.columns[:3]) == ["label", "model", "method"] and len(per_image) == 4
    assert per_image.spearman.between(-1, 1).all() and per_image.ceiling.notna().all()
    again = alignment_summary(per_image.drop(columns="label"), seed=0)
    pd.testing.assert_frame_equal(again, summary, check_dtype=False)
    written = pd.read_csv(out / "clickmap_summary.csv").fillna({"ceiling_note": ""})
    pd.testing.assert_frame_equal(written, summary, check_dtype=False)
    with np.load(out / "model_maps.npz") as saved:
        assert saved["labels"].tolist() == ["efficientnet_lite0 saliency"]
        assert saved["map_0"].shape == (4, 224, 224)
    for figure in ("clickmap_grid", "clickmap_scores"):
        for suffix in (".png", ".pdf", ".svg", ".csv", ".json"):
            assert (out / f"{figure}{suffix}").is_file()
    record = json.loads((out / "clickmap_summary.json").read_text())
    assert record["parameters"]["n_splits"] == 5 and record["human_maps"] == str(maps_file)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_align_refuses_a_changed_stimulus_set(built, tmp_path):
    maps, maps_file = built
    copy = tmp_path / "maps.npz"
    maps.save(copy)
    sidecar = json.loads(maps_file.with_suffix(".json").read_text())
    sidecar["stimulus_set"]["checksum"] = "0" * 64
    copy.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(TrialDataError, match=r"the stimulus set changed since .*maps\.npz was"):
        align_clickmaps(copy, ["efficientnet_lite0"], tmp_path / "out")


def test_align_names_a_missing_maps_file_or_sidecar(built, tmp_path):
    maps, _ = built
    with pytest.raises(MissingFileError, match=r"nothing\.npz: no such ClickMaps file\.$"):
        align_clickmaps(tmp_path / "nothing", ["efficientnet_lite0"], tmp_path / "out")
    maps.save(tmp_path / "alone.npz")
    with pytest.raises(MissingFileError, match=r"alone\.json: not found; 'clickmaps build'"):
        align_clickmaps(tmp_path / "alone.npz", ["efficientnet_lite0"], tmp_path / "out")
    (tmp_path / "alone.json").write_text("{}")
    with pytest.raises(ClickMapError, match=r"alone\.json: lacks 'stimulus_set'"):
        align_clickmaps(tmp_path / "alone.npz", ["efficientnet_lite0"], tmp_path / "out")


@pytest.mark.parametrize(
    ("models", "methods", "message"),
    [
        ([], ["saliency"], "models: [] must be a non-empty list of names."),
        (["efficientnet_lite0"], "saliency", "methods: 'saliency' must be a non-empty list"),
    ],
)
def test_align_needs_models_and_methods(built, tmp_path, models, methods, message):
    _, maps_file = built
    with pytest.raises(ClickMapError) as error:
        align_clickmaps(maps_file, models, tmp_path / "out", methods=methods)
    assert str(error.value).startswith(message)


def test_the_old_clickme_module_warns_and_gives_the_same_functions():
    import psychoalign.clickme as old
    from psychoalign.workflows import clickmaps as new

    for name in ("build_clickmaps", "align_clickmaps"):
        with pytest.warns(DeprecationWarning, match=rf"psychoalign\.clickme\.{name} moved to"):
            assert getattr(old, name) is getattr(new, name)


def test_one_participant_says_why_the_ceiling_cannot_be_measured(tmp_path, four):
    from typer.testing import CliRunner

    from psychoalign.cli import app

    folder = tmp_path / "clickme"
    folder.mkdir()
    _session(folder, four, "01", seed=0)
    build_clickmaps([folder], tmp_path / "maps.npz")
    out = tmp_path / "aligned"
    result = CliRunner().invoke(
        app,
        ["clickmaps", "align", str(tmp_path / "maps.npz"), "--n-splits", "2", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    note = "ceiling not measurable: split halves need at least 2 participants per image; 1 here"
    assert f"warning: {note}" in " ".join(result.output.split())
    assert "nan" not in result.output and "–" in result.output
    summary = pd.read_csv(out / "clickmap_summary.csv", keep_default_na=False)
    assert summary.ceiling_note.tolist() == [note] and summary.score.tolist() == [""]
    per_image = pd.read_csv(out / "clickmap_alignment.csv", keep_default_na=False)
    assert (per_image.ceiling_note == note).all()
    assert "ceiling not measurable" in (out / "clickmap_scores.svg").read_text()  # not 'nan'
