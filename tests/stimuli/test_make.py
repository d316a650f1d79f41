from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from psychoalign.datasets import stimulus_set
from psychoalign.stimuli import (
    MANIPULATIONS,
    StimulusSet,
    StimulusSetError,
    contact_sheet,
    make_stimulus_set,
    read_image,
    stimulus_seed,
)
from psychoalign.stimuli.images import encode_png


@pytest.fixture(scope="module")
def source() -> StimulusSet:
    return stimulus_set("silhouette").subset(categories=["bear", "truck"])


def test_uniform_noise_set_from_the_bundled_stimuli(tmp_path, source):
    made = make_stimulus_set(
        source, "uniform-noise", tmp_path / "noise", levels=["0.00", "0.35"], seed=7, progress=False
    )
    manifest = made.manifest
    assert len(made) == 40 and made.conditions == ["0.00", "0.35"]
    assert manifest.columns.tolist() == [
        "stimulus",
        "image",
        "category",
        "condition",
        "sha256",
        "seed",
        "source",
    ]
    assert manifest.stimulus.iloc[0] == "0.00/bear/bear1.png"
    assert set(manifest.image) == set(source.manifest.image)
    assert made.verify().empty
    assert made.info["source"]["checksum"] == source.checksum
    assert made.info["made_with"]["manipulation"] == "uniform-noise" and made.info["seed"] == 7
    noisy = read_image(made.file("0.35/truck/truck4.png"))[..., 0]
    assert noisy.std() > 0.15 and noisy.mean() == pytest.approx(0.5, abs=0.05)


def test_the_same_seed_makes_the_same_pixels(tmp_path, source):
    args = dict(levels=["0.1", "0.6"], progress=False)
    first = make_stimulus_set(source, "uniform-noise", tmp_path / "a", seed=3, **args)
    again = make_stimulus_set(source, "uniform-noise", tmp_path / "b", seed=3, **args)
    other = make_stimulus_set(source, "uniform-noise", tmp_path / "c", seed=4, **args)
    assert first.checksum == again.checksum != other.checksum
    pd.testing.assert_frame_equal(first.manifest, again.manifest)


def test_one_stimulus_is_remade_alone_from_its_manifest_seed(tmp_path, source):
    made = make_stimulus_set(
        source, "phase-scrambling", tmp_path / "ps", levels=["90"], seed=11, progress=False
    )
    row = made.manifest.iloc[13]
    original = read_image(source.file(row.source))
    remade = MANIPULATIONS["phase-scrambling"].function(
        original, 90.0, np.random.default_rng(int(row.seed))
    )
    assert encode_png(remade) == made.file(row.stimulus).read_bytes()


def test_every_stimulus_is_its_source_degraded_with_its_seed_level_by_level(tmp_path, source):
    levels = ["0.1", "0.5"]
    made = make_stimulus_set(
        source, "salt-and-pepper", tmp_path / "sp", levels=levels, seed=2, progress=False
    )
    manifest = made.manifest
    sources = source.manifest.stimulus.tolist()
    assert list(zip(manifest.condition, manifest.source, strict=True)) == [
        (level, stimulus) for level in levels for stimulus in sources
    ]
    method = MANIPULATIONS["salt-and-pepper"]
    for row in manifest.itertuples():
        level_index, image_index = levels.index(row.condition), sources.index(row.source)
        assert int(row.seed) == stimulus_seed(2, level_index, image_index)
        remade = method.function(
            read_image(source.file(row.source)),
            float(row.condition),
            np.random.default_rng(int(row.seed)),
        )
        assert encode_png(remade) == made.file(row.stimulus).read_bytes(), row.stimulus


def test_default_levels_are_the_model_vs_human_labels(tmp_path, source):
    made = make_stimulus_set(
        source.subset(images=["bear1.png"]), "contrast", tmp_path / "c", progress=False
    )
    assert made.conditions == ["c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"]


def test_power_equalisation_uses_the_whole_source_set(tmp_path, source):
    made = make_stimulus_set(source, "power-equalisation", tmp_path / "pow", progress=False)
    assert made.conditions == ["0", "pow"]
    assert made.info["made_with"]["parameters"] == {
        "amplitude": "mean amplitude spectrum of the source set"
    }


def test_bad_parameters_write_nothing(tmp_path, source):
    with pytest.raises(
        StimulusSetError, match=r"levels: '1.5' is not a valid level of uniform-noise"
    ):
        make_stimulus_set(
            source, "uniform-noise", tmp_path / "x", levels=["0.1", "1.5"], progress=False
        )
    with pytest.raises(StimulusSetError, match=r"manipulation: 'fog' is not known"):
        make_stimulus_set(source, "fog", tmp_path / "x", progress=False)
    with pytest.raises(StimulusSetError, match=r"levels: '0.1' is given twice"):
        make_stimulus_set(
            source, "uniform-noise", tmp_path / "x", levels=["0.1", "0.1"], progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_sources_must_have_one_condition_and_one_size_where_needed(tmp_path, source):
    noise = make_stimulus_set(
        source, "uniform-noise", tmp_path / "noise", levels=["0", "0.2"], progress=False
    )
    with pytest.raises(StimulusSetError, match=r"has 2 conditions .* select one with .subset"):
        make_stimulus_set(noise, "rotation", tmp_path / "x", progress=False)
    folder = tmp_path / "mixed"
    for row in list(source)[:3]:
        (folder / row.category).mkdir(parents=True, exist_ok=True)
        Image.open(row.path).save(folder / row.category / row.image)
    Image.open(source.frame().path.iloc[3]).resize((200, 200)).save(folder / "bear" / "small.png")
    with pytest.raises(
        StimulusSetError, match=r"small\.png: is 200 x 200 px but .* needs images of one size"
    ):
        make_stimulus_set(
            StimulusSet.from_folder(folder), "power-equalisation", tmp_path / "y", progress=False
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed", "noise"]


def test_an_altered_source_is_refused(tmp_path, source):
    copy = source.write(tmp_path / "copy")
    (copy.path / "bear" / "bear1.png").write_bytes(encode_png(np.zeros((224, 224, 3))))
    with pytest.raises(StimulusSetError, match=r"bear1\.png: is altered"):
        make_stimulus_set(StimulusSet.open(copy.path), "rotation", tmp_path / "rot", progress=False)
    assert not (tmp_path / "rot").exists()


def test_contact_sheet_and_its_table(tmp_path, source):
    made = make_stimulus_set(
        source, "low-pass", tmp_path / "lp", levels=["0", "3", "10"], progress=False
    )
    table = contact_sheet(made, tmp_path / "sheet.png", n_images=4, cell=64)
    assert Image.open(tmp_path / "sheet.png").size == (120 + 3 * 68, 18 + 4 * 68)
    assert table.category.iloc[0] == "bear" and table.category.iloc[3] == "truck"
    assert pd.read_csv(tmp_path / "sheet.csv").shape == (12, 6)
