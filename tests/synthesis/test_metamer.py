"""Metamer synthesis: the starting noise, the schedule, each step, saving and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from psychoalign.errors import MissingFileError
from psychoalign.models import ModelError, Preprocessing, from_module, load_model
from psychoalign.stimuli import StimulusSetError
from psychoalign.stimuli.images import to_uint8
from psychoalign.synthesis import Metamer, initial_noise, step_sizes, synthesize_layers
from psychoalign.synthesis.metamer import _FORMAT as FORMAT

LAYER = "_blocks.1"


def _toy_model():
    """f(x) = x: a 1x1 convolution with identity weights on 8 x 8 images, no normalisation."""
    features = torch.nn.Conv2d(3, 3, 1, bias=False)
    with torch.no_grad():
        features.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    module = torch.nn.Sequential()
    module.add_module("features", features)
    module.add_module("flatten", torch.nn.Flatten())
    module.add_module("head", torch.nn.Linear(3 * 8 * 8, 2))
    return from_module(
        module,
        ["a", "b"],
        name="toy",
        preprocessing=Preprocessing(crop=8, resize=None, mean=(0.0,) * 3, std=(1.0,) * 3),
    )


def test_the_same_seed_gives_bit_identical_metamers(lite0, naturals):
    args = {"rounds": 2, "steps_per_round": 2, "step_size": 4.0, "progress": False}
    first = Metamer(lite0, LAYER, naturals[:2], seed=3).synthesize(**args)
    again = Metamer(lite0, LAYER, naturals[:2], seed=3).synthesize(**args)
    other = Metamer(lite0, LAYER, naturals[:2], seed=4).synthesize(**args)
    assert np.array_equal(first.metamers, again.metamers)
    assert np.array_equal(first.losses, again.losses)
    assert not np.array_equal(first.metamers, other.metamers)


def test_the_starting_noise_is_grey_with_sd_one_twentieth():
    noise = initial_noise((4, 224, 224, 3), seed=0)
    assert noise.dtype == np.float32
    assert noise.min() > 0.0 and noise.max() < 1.0  # 10 sd from 0.5: clipping never acts
    assert noise.mean() == pytest.approx(0.5, abs=5e-4)
    assert noise.std() == pytest.approx(0.05, rel=5e-3)
    # Image i's noise depends on (seed, i) only, not on the rest of the batch.
    assert np.array_equal(initial_noise((2, 224, 224, 3), seed=0)[1], noise[1])
    assert not np.array_equal(noise[0], noise[1])


def test_the_step_size_halves_after_each_round():
    assert step_sizes(3, 2, 0.5).tolist() == [0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    assert step_sizes(8, 3000, 1.0)[[0, 2999, 3000, 23999]].tolist() == [1, 1, 0.5, 2**-7]


def test_each_step_moves_the_image_by_the_step_size_along_the_normalised_gradient():
    # With f(x) = x the loss is ||x - x_nat|| / ||x_nat|| and its normalised gradient points
    # straight at x_nat, so step t moves eta_t closer and the loss before step t is
    # (||x0 - x_nat|| - eta_0 - ... - eta_{t-1}) / ||x_nat||, clipping never acting.
    natural = np.random.default_rng(5).uniform(0.1, 0.9, (1, 8, 8, 3)).astype(np.float32)
    metamer = Metamer(_toy_model(), "features", natural, seed=0, device="cpu")
    metamer.synthesize(rounds=3, steps_per_round=2, step_size=0.5, progress=False)
    start = np.linalg.norm(metamer.initial.astype(np.float64) - natural)
    travelled = np.r_[0.0, np.cumsum(metamer.step_sizes)]
    expected = (start - travelled) / np.linalg.norm(natural.astype(np.float64))
    np.testing.assert_allclose(metamer.losses[0], expected[:-1], rtol=1e-5)
    assert metamer.final_loss[0] == pytest.approx(expected[-1], rel=1e-5)
    moved = np.linalg.norm(metamer.metamers.astype(np.float64) - metamer.initial)
    assert moved == pytest.approx(1.75, rel=1e-5)  # 0.5 + 0.5 + 0.25 + 0.25 + 0.125 + 0.125


def test_one_step_on_the_real_model_moves_each_image_by_exactly_eta(lite0, naturals):
    metamer = Metamer(lite0, LAYER, naturals[:2], seed=0)
    metamer.synthesize(rounds=1, steps_per_round=1, step_size=1.0, progress=False)
    moved = np.linalg.norm((metamer.metamers - metamer.initial).reshape(2, -1), axis=1)
    np.testing.assert_allclose(moved, 1.0, rtol=1e-4)  # no pixel reaches 0 or 1 here


def test_synthesis_leaves_the_model_as_it_was(lite0, naturals):
    before = {name: p.detach().clone() for name, p in lite0.module.named_parameters()}
    flags = {name: p.requires_grad for name, p in lite0.module.named_parameters()}
    Metamer(lite0, LAYER, naturals[:1]).synthesize(1, 1, progress=False)
    for name, parameter in lite0.module.named_parameters():
        assert torch.equal(parameter, before[name]) and parameter.requires_grad == flags[name]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in lite0.module.modules())


def test_synthesize_layers_starts_every_layer_from_the_same_noise(lite0, naturals):
    runs = synthesize_layers(
        lite0, ["_blocks.0", LAYER], naturals[:1], rounds=1, steps_per_round=2, progress=False
    )
    assert list(runs) == ["_blocks.0", LAYER]
    assert np.array_equal(runs["_blocks.0"].initial, runs[LAYER].initial)
    assert runs[LAYER].losses.shape == (1, 2)


def test_save_and_load_round_trip_exactly(tmp_path, lite0, synthesised):
    path = synthesised.save(tmp_path / "metamers.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["metamers.npz"]  # no temporary left
    loaded = Metamer.load(path)
    for name in ("images", "initial", "metamers", "losses", "final_loss", "step_sizes"):
        original, copy = getattr(synthesised, name), getattr(loaded, name)
        assert copy.dtype == original.dtype and np.array_equal(copy, original), name
    for name in ("model_name", "weights_sha256", "layer", "seed", "batch_size", "settings"):
        assert getattr(loaded, name) == getattr(synthesised, name), name
    assert loaded.settings["rounds"] == 4 and loaded.settings["step_size"] == 16.0
    assert loaded.model.weights_sha256 == lite0.weights_sha256  # loaded by name when needed
    with pytest.raises(ModelError, match=r"^model: efficientnet_lite0-random has weights"):
        Metamer.load(path, model=load_model(weights="random", device="cpu"))


def test_loading_a_missing_or_foreign_file_is_refused_in_one_sentence(tmp_path):
    with pytest.raises(MissingFileError, match=r"missing\.npz: file not found\.$"):
        Metamer.load(tmp_path / "missing.npz")
    (tmp_path / "other.npz").write_bytes(b"not a zip file")
    with pytest.raises(StimulusSetError, match=r"other\.npz: is not a metamer file"):
        Metamer.load(tmp_path / "other.npz")


def _metamer_file(path, **arrays):
    """A file of Metamer.save's layout (two 4 x 4 images) with ``arrays`` replaced."""
    info = np.array(json.dumps({"format": FORMAT}))
    images = np.zeros((2, 4, 4, 3), np.float32)
    saved = {"images": images, "initial": images, "losses": np.zeros((2, 1)), "info": info}
    saved |= {"step_sizes": np.ones(1)}
    np.savez(path, **{name: v for name, v in {**saved, **arrays}.items() if v is not None})
    return path


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"losses": None}, r"has no array 'losses'; it is not a whole metamer file\.$"),
        (
            {"images": np.zeros((2, 4, 4), np.float32)},
            r"array 'images' has shape \(2, 4, 4\) and type float32, not \(n, height",
        ),
        (
            {"initial": np.zeros((1, 4, 4, 3), np.float32)},
            r"array 'initial' has shape \(1, 4, 4, 3\), not the shape of the images",
        ),
        (
            {"losses": np.array([{"a": 1}, None], dtype=object)},
            r"array 'losses' holds pickled Python objects, which psychoalign never loads "
            r"\(unpickling runs code\)\.$",
        ),
        ({"info": np.array("{}")}, r"is not a metamer file written by Metamer\.save\.$"),
    ],
    ids=["missing array", "wrong shape", "shapes differ", "object array", "other format"],
)
def test_a_broken_metamer_file_is_one_sentence_naming_the_array(tmp_path, arrays, message):
    path = _metamer_file(tmp_path / "broken.npz", **arrays)
    with pytest.raises(StimulusSetError, match=message) as refused:
        Metamer.load(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_a_single_npy_array_is_not_a_metamer_file(tmp_path):
    path = tmp_path / "one.npz"
    with path.open("wb") as handle:
        np.save(handle, np.zeros(3))
    with pytest.raises(StimulusSetError, match=r"one\.npz: is not a metamer file"):
        Metamer.load(path)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda x: x[0], r"^images: expected an array \(n, height, width, 3\) of RGB images, got"),
        (
            lambda x: x.transpose(0, 3, 1, 2),
            r"^images: expected an array \(n, height, width, 3\)",
        ),
        (lambda x: x * 2, r"^images: values must lie in \[0, 1\], found 0 to 2\.$"),
        (lambda x: to_uint8(x), r"^images: expected floats in \[0, 1\], got dtype uint8"),
    ],
)
def test_bad_images_are_refused_in_one_sentence(lite0, naturals, change, message):
    with pytest.raises(StimulusSetError, match=message) as error:
        Metamer(lite0, LAYER, change(naturals))
    assert "\n" not in str(error.value) and str(error.value).endswith(".")


def test_an_unknown_layer_is_refused_with_the_closest_names(lite0, naturals):
    with pytest.raises(ModelError, match=r"^layer: '_blocks\.99' is not a layer of ") as error:
        Metamer(lite0, "_blocks.99", naturals)
    assert "did you mean" in str(error.value)


def test_bad_schedules_and_arguments_are_refused(lite0, naturals):
    metamer = Metamer(lite0, LAYER, naturals[:1])
    with pytest.raises(StimulusSetError, match=r"^rounds: 0 must be a whole number"):
        metamer.synthesize(rounds=0)
    with pytest.raises(StimulusSetError, match=r"^step_size: -1\.0 must be a positive number"):
        metamer.synthesize(step_size=-1.0)
    with pytest.raises(ModelError, match=r"^layers: '_blocks\.1' is given twice\.$"):
        synthesize_layers(lite0, [LAYER, LAYER], naturals[:1], progress=False)
    with pytest.raises(ModelError, match=r"^layers: at least one layer is needed\.$"):
        synthesize_layers(lite0, [], naturals[:1], progress=False)
    with pytest.raises(StimulusSetError, match=r"^seed: -1 must be a whole number of at least 0"):
        Metamer(lite0, LAYER, naturals[:1], seed=-1)
    with pytest.raises(StimulusSetError, match=r"^batch_size: 0 must be a whole number of at le"):
        Metamer(lite0, LAYER, naturals[:1], batch_size=0)
