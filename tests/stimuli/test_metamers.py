from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from psychoalign.datasets import stimulus_set
from psychoalign.models import ModelError, Preprocessing, from_module, load_model
from psychoalign.models.features import activations, feature_extractor
from psychoalign.models.observer import ModelObserver
from psychoalign.stimuli import StimulusSet, StimulusSetError, read_image
from psychoalign.stimuli.images import to_uint8
from psychoalign.stimuli.metamers import (
    Metamer,
    _fold_batch_norms,
    _kept_steps,
    _to_tensor,
    initial_noise,
    make_metamer_set,
    null_distribution,
    step_sizes,
    synthesize_layers,
    validate,
)

# An early layer: the output of the second MBConv block (24 channels at 56 x 56).
LAYER = "_blocks.1"
# Edge images the model classifies with a wide margin (a metamer's decision is stable).
IMAGES = ["clock/clock2.png", "chair/chair3.png", "keyboard/keyboard5.png"]
# A CPU-sized schedule: 4 rounds of 50 steps from eta0 = 16 (200 steps; the full schedule
# of Feather et al. is 8 x 3000 from eta0 = 1). 160 steps already validate all three.
SCHEDULE = {"rounds": 4, "steps_per_round": 50, "step_size": 16.0}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: 2-thread OpenMP steps slow down 3-7x when another process (a
    parallel test worker) holds a core, and one image per pass barely uses a second one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return load_model(device="cpu")


@pytest.fixture(scope="module")
def edge() -> StimulusSet:
    return stimulus_set("edge")


@pytest.fixture(scope="module")
def naturals(edge) -> np.ndarray:
    return np.stack([edge.load(name) for name in IMAGES]).astype(np.float32)


@pytest.fixture(scope="module")
def null(model, edge) -> np.ndarray:
    names = edge.manifest.stimulus.iloc[::4]  # 40 images, all 16 categories
    return null_distribution(model, LAYER, np.stack([edge.load(name) for name in names]))


@pytest.fixture(scope="module")
def synthesised(model, naturals) -> Metamer:
    return Metamer(model, LAYER, naturals, seed=0).synthesize(**SCHEDULE, progress=False)


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


# --- synthesis ----------------------------------------------------------------------------


def test_early_layer_metamers_validate(model, naturals, null, synthesised):
    start, final = synthesised.losses[:, 0], synthesised.final_loss
    assert synthesised.losses.shape == (3, 200) and synthesised.metamers.shape == naturals.shape
    assert (start > 1.0).all() and (final < 0.5 * start).all()
    shown = to_uint8(synthesised.metamers).astype(np.float32) / 255  # as written to PNG
    table = validate(model, LAYER, naturals, shown, null=null)
    assert list(table.columns) == [
        "layer",
        "natural_decision",
        "metamer_decision",
        "same_decision",
        "spearman",
        "null_max",
        "final_loss",
        "valid",
    ]
    assert table.natural_decision.tolist() == ["clock", "chair", "keyboard"]
    assert table.same_decision.all() and table.valid.all()
    assert (table.spearman > table.null_max).all() and table.null_max.iloc[0] == null.max()
    np.testing.assert_allclose(table.final_loss, final, rtol=0.02)  # 8-bit rounding aside
    # rho is scipy's Spearman correlation of the layer's activations.
    both = activations(ModelObserver(model), np.stack([shown[0], naturals[0]]), [LAYER])[LAYER]
    expected = spearmanr(both[0].ravel(), both[1].ravel()).statistic
    assert table.spearman.iloc[0] == pytest.approx(expected, abs=1e-6)


def test_a_metamer_that_has_not_converged_is_flagged_not_dropped(model, naturals, null):
    noise = initial_noise(naturals.shape, seed=0)
    table = validate(model, LAYER, naturals, noise, null=null)
    assert len(table) == 3 and not table.valid.any()
    assert (table.spearman < table.null_max).all()


def test_the_same_seed_gives_bit_identical_metamers(model, naturals):
    args = {"rounds": 2, "steps_per_round": 2, "step_size": 4.0, "progress": False}
    first = Metamer(model, LAYER, naturals[:2], seed=3).synthesize(**args)
    again = Metamer(model, LAYER, naturals[:2], seed=3).synthesize(**args)
    other = Metamer(model, LAYER, naturals[:2], seed=4).synthesize(**args)
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


def test_one_step_on_the_real_model_moves_each_image_by_exactly_eta(model, naturals):
    metamer = Metamer(model, LAYER, naturals[:2], seed=0)
    metamer.synthesize(rounds=1, steps_per_round=1, step_size=1.0, progress=False)
    moved = np.linalg.norm((metamer.metamers - metamer.initial).reshape(2, -1), axis=1)
    np.testing.assert_allclose(moved, 1.0, rtol=1e-4)  # no pixel reaches 0 or 1 here


def test_synthesis_leaves_the_model_as_it_was(model, naturals):
    before = {name: p.detach().clone() for name, p in model.module.named_parameters()}
    flags = {name: p.requires_grad for name, p in model.module.named_parameters()}
    Metamer(model, LAYER, naturals[:1]).synthesize(1, 1, progress=False)
    for name, parameter in model.module.named_parameters():
        assert torch.equal(parameter, before[name]) and parameter.requires_grad == flags[name]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.module.modules())


def test_folded_batch_norms_compute_the_same_activations(model, naturals):
    plain = feature_extractor(model, [LAYER])
    observer = ModelObserver(model)
    folded = _fold_batch_norms(plain, LAYER, _to_tensor(naturals[:1], model.device), observer)
    assert folded is not plain
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    inputs = observer.prepare_tensor(_to_tensor(naturals, model.device))
    with torch.no_grad():
        torch.testing.assert_close(
            folded(inputs)[LAYER], plain(inputs)[LAYER], rtol=1e-4, atol=1e-4
        )


def test_synthesize_layers_starts_every_layer_from_the_same_noise(model, naturals):
    runs = synthesize_layers(
        model, ["_blocks.0", LAYER], naturals[:1], rounds=1, steps_per_round=2, progress=False
    )
    assert list(runs) == ["_blocks.0", LAYER]
    assert np.array_equal(runs["_blocks.0"].initial, runs[LAYER].initial)
    assert runs[LAYER].losses.shape == (1, 2)


def test_save_and_load_round_trip_exactly(tmp_path, model, synthesised):
    path = synthesised.save(tmp_path / "metamers.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["metamers.npz"]  # no temporary left
    loaded = Metamer.load(path)
    for name in ("images", "initial", "metamers", "losses", "final_loss", "step_sizes"):
        original, copy = getattr(synthesised, name), getattr(loaded, name)
        assert copy.dtype == original.dtype and np.array_equal(copy, original), name
    for name in ("model_name", "weights_sha256", "layer", "seed", "batch_size", "settings"):
        assert getattr(loaded, name) == getattr(synthesised, name), name
    assert loaded.settings["rounds"] == 4 and loaded.settings["step_size"] == 16.0
    assert loaded.model.weights_sha256 == model.weights_sha256  # loaded by name when needed
    with pytest.raises(ModelError, match=r"^model: efficientnet_lite0-random has weights"):
        Metamer.load(path, model=load_model(weights="random", device="cpu"))


# --- a metamer stimulus set ------------------------------------------------------------------


def test_make_metamer_set_writes_a_verifiable_set_with_flags(tmp_path, model, edge):
    source = edge.subset(categories=["bear", "clock", "knife"])
    made, validation, losses = make_metamer_set(
        source,
        model,
        ["_blocks.0", LAYER],
        tmp_path / "metamers",
        images=2,
        rounds=1,
        steps_per_round=3,
        step_size=4.0,
        progress=False,
    )
    assert made.verify().empty and StimulusSet.open(made.path).verify().empty
    assert made.conditions == ["natural", "_blocks.0", LAYER]
    manifest = made.manifest
    assert manifest.columns.tolist() == [
        "stimulus",
        "image",
        "category",
        "condition",
        "sha256",
        "model",
        "layer",
        "valid",
        "seed",
        "source",
    ]
    assert manifest.stimulus.tolist() == [
        "natural/bear/bear1.png",
        "natural/bear/bear10.png",
        "_blocks.0/bear/bear1.png",
        "_blocks.0/bear/bear10.png",
        f"{LAYER}/bear/bear1.png",
        f"{LAYER}/bear/bear10.png",
    ]
    natural = manifest.query("condition == 'natural'")
    assert (natural.valid == "True").all() and (natural.layer == "").all()
    assert natural.sha256.tolist() == source.manifest.sha256.iloc[:2].tolist()  # copied as is
    metamers = manifest.query("condition != 'natural'")
    assert (metamers.layer == metamers.condition).all() and (metamers.seed == "0").all()
    assert (metamers.model == "efficientnet_lite0").all()
    # 3 steps cannot make a metamer: every one is flagged, and every one is kept.
    assert metamers.valid.tolist() == validation.valid.astype(str).tolist()
    assert not validation.valid.any() and len(metamers) == 4
    assert validation.stimulus.tolist() == metamers.stimulus.tolist()
    assert {"image", "category", "model", "spearman", "null_max"} <= set(validation.columns)
    # The CSVs sit in the set folder, unlisted, so they leave verify and the checksum alone.
    pd.testing.assert_frame_equal(pd.read_csv(made.path / "validation.csv"), validation)
    pd.testing.assert_frame_equal(pd.read_csv(made.path / "losses.csv"), losses)
    null = pd.read_csv(made.path / "null.csv")
    assert null.columns.tolist() == ["model", "layer", "rho"]
    assert len(null) == 2 * 435  # 30 source images: all 435 pairs, per layer
    assert losses.columns.tolist() == ["stimulus", "layer", "step", "loss"]
    assert losses.step.unique().tolist() == [0, 1, 2, 3]  # 3 steps, then after the last
    assert made.info["made_with"]["layers"] == ["_blocks.0", LAYER]
    assert list(made.info["files"]) == ["validation.csv", "losses.csv", "null.csv"]
    for file, digest in made.info["files"].items():
        assert hashlib.sha256((made.path / file).read_bytes()).hexdigest() == digest
    pixels = read_image(made.file(f"{LAYER}/bear/bear1.png"))
    assert pixels.shape == (224, 224, 3)


def test_losses_of_long_runs_are_kept_every_tenth_step():
    assert _kept_steps(5).tolist() == [0, 1, 2, 3, 4]
    kept = _kept_steps(24000)
    assert kept[:3].tolist() == [0, 10, 20] and kept[-2:].tolist() == [23990, 23999]


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
def test_bad_images_are_refused_in_one_sentence(model, naturals, change, message):
    with pytest.raises(StimulusSetError, match=message) as error:
        Metamer(model, LAYER, change(naturals))
    assert "\n" not in str(error.value) and str(error.value).endswith(".")


def test_an_unknown_layer_is_refused_with_the_closest_names(model, naturals):
    with pytest.raises(ModelError, match=r"^layer: '_blocks\.99' is not a layer of ") as error:
        Metamer(model, "_blocks.99", naturals)
    assert "did you mean" in str(error.value)


def test_bad_schedules_and_arguments_are_refused(model, naturals, edge, tmp_path):
    metamer = Metamer(model, LAYER, naturals[:1])
    with pytest.raises(StimulusSetError, match=r"^rounds: 0 must be a whole number"):
        metamer.synthesize(rounds=0)
    with pytest.raises(StimulusSetError, match=r"^step_size: -1\.0 must be a positive number"):
        metamer.synthesize(step_size=-1.0)
    with pytest.raises(StimulusSetError, match=r"^images: the null distribution needs at least"):
        null_distribution(model, LAYER, naturals[:1])
    with pytest.raises(StimulusSetError, match=r"^metamers: shape \(2, 224, 224, 3\) differs"):
        validate(model, LAYER, naturals, naturals[:2], null=[0.5])
    with pytest.raises(StimulusSetError, match=r"^layers: 'natural' is the condition"):
        make_metamer_set(edge, model, ["natural"], tmp_path / "x", progress=False)
    with pytest.raises(StimulusSetError, match=r"^layers: '_blocks\.1' is given twice\.$"):
        make_metamer_set(edge, model, [LAYER, "_blocks.0", LAYER], tmp_path / "x", progress=False)
    with pytest.raises(ModelError, match=r"^layers: '_blocks\.1' is given twice\.$"):
        synthesize_layers(model, [LAYER, LAYER], naturals[:1], progress=False)
    with pytest.raises(ModelError, match=r"^layers: at least one layer is needed\.$"):
        synthesize_layers(model, [], naturals[:1], progress=False)
    with pytest.raises(StimulusSetError, match=r"^images: 0 must be between 1 and the 160"):
        make_metamer_set(edge, model, [LAYER], tmp_path / "x", images=0, progress=False)
    assert not (tmp_path / "x").exists()
    (tmp_path / "taken").mkdir()
    with pytest.raises(StimulusSetError, match=r"taken: already exists; choose another"):
        make_metamer_set(edge, model, [LAYER], tmp_path / "taken", progress=False)
    with pytest.raises(StimulusSetError, match=r"^seed: -1 must be a whole number of at least 0"):
        Metamer(model, LAYER, naturals[:1], seed=-1)
