from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from psychoalign.datasets import load_model_vs_human, stimulus_set
from psychoalign.metrics import accuracy, error_consistency
from psychoalign.models import ModelError, ModelObserver
from psychoalign.stimuli import StimulusSet, StimulusSetError
from psychoalign.trials import read_trials, validate_trials, write_trials


@pytest.fixture(scope="module", params=["edge", "silhouette"])
def bundled_run(request, observer):
    stimuli = stimulus_set(request.param)
    return request.param, observer.run(stimuli, progress=False)


def test_bundled_model_on_the_real_sets_end_to_end(bundled_run, tmp_path):
    name, run = bundled_run
    trials = run.trials
    assert len(trials) == 160 and (trials.observer == "efficientnet_lite0").all()
    assert (trials.observer_kind == "model").all() and trials.rt.isna().all()
    assert trials.trial.tolist() == list(range(1, 161))
    validate_trials(trials)
    humans = load_model_vs_human(name)
    both = pd.concat([humans, trials], ignore_index=True)
    table = accuracy(both).set_index("observer")
    model_accuracy = table.loc["efficientnet_lite0", "accuracy"]
    # Above chance (1/16) by more than the Wilson interval allows.
    assert table.loc["efficientnet_lite0", "ci_low"] > 1 / 16 and model_accuracy > 0.25
    kappa = error_consistency(both)
    with_model = kappa[
        (kappa.observer_1 == "efficientnet_lite0") | (kappa.observer_2 == "efficientnet_lite0")
    ]
    assert len(with_model) == 10 and (with_model.n_trials == 160).all()
    assert with_model.kappa.between(-1, 1).all()
    # The trial file round-trips and joins the human data through read_trials.
    path = write_trials(trials, tmp_path / "model.csv")
    assert len(read_trials([path], paired=True)) == 160


def test_probabilities_agree_with_the_responses(bundled_run):
    _, run = bundled_run
    table = run.probabilities
    assert table.columns.tolist() == ["observer", "stimulus", "category", "probability"]
    assert len(table) == 160 * 16
    best = table.loc[table.groupby("stimulus").probability.idxmax()].set_index("stimulus").category
    assert (best.reindex(run.trials.stimulus).to_numpy() == run.trials.response.to_numpy()).all()
    assert (
        run.info["stimulus_set"]["checksum"] == stimulus_set(run.trials.experiment.iloc[0]).checksum
    )
    assert run.info["weights_sha256"] and run.info["size_handling"] == "whole"


def test_whole_size_handling_presents_every_pixel_unchanged(observer):
    stimuli = stimulus_set("edge")
    pixels = stimuli.load(stimuli.manifest.stimulus[0])
    prepared = observer.prepare(pixels)
    expected = (torch.tensor(pixels, dtype=torch.float32).permute(2, 0, 1) - 0.5) / 0.5
    assert torch.equal(prepared[0], expected)


def test_other_sizes_are_resized_whole_or_cropped(lite0):
    rng = np.random.default_rng(0)
    wide = rng.random((100, 160, 3))
    whole = ModelObserver(lite0, device="cpu").prepare(wide)
    assert whole.shape == (1, 3, 224, 224)
    # Grey padding above and below the non-square stimulus.
    assert torch.allclose(whole[0, :, :10, :], torch.zeros(3, 10, 224), atol=1e-6)
    cropped = ModelObserver(lite0, device="cpu", size_handling="resize-crop").prepare(wide)
    assert cropped.shape == (1, 3, 224, 224) and cropped[0, :, :10, :].abs().max() > 0.1


def test_order_with_repeats(observer):
    stimuli = stimulus_set("silhouette").subset(categories=["cat"])
    order = ["cat/cat3.png", "cat/cat1.png", "cat/cat3.png"]
    run = observer.run(stimuli, order=order, experiment="repeat-test", session=2, progress=False)
    assert run.trials.stimulus.tolist() == order and run.trials.trial.tolist() == [1, 2, 3]
    assert run.trials.response[0] == run.trials.response[2]
    assert (run.trials.session == 2).all() and (run.trials.experiment == "repeat-test").all()
    assert len(run.probabilities) == 2 * 16
    with pytest.raises(ModelError, match=r"order: stimulus 'cat/cat99.png' is not in stimulus set"):
        observer.run(stimuli, order=["cat/cat99.png"], progress=False)


def test_an_altered_set_is_refused_before_the_first_trial(tmp_path, observer):
    copy = stimulus_set("edge").subset(categories=["boat"]).write(tmp_path / "boats")
    (copy.path / "boat" / "boat2.png").write_bytes(b"not the same pixels")
    with pytest.raises(StimulusSetError, match=r"boat2\.png: is altered"):
        observer.run(copy, progress=False)


def test_categories_the_mapping_cannot_answer_are_refused(tmp_path, observer):
    (tmp_path / "src" / "oven").mkdir(parents=True)
    (tmp_path / "src" / "oven" / "oven1.png").write_bytes(
        stimulus_set("edge").file("oven/oven1.png").read_bytes()
    )
    listing = tmp_path / "src" / "listing.csv"
    listing.write_text("file,category\noven/oven1.png,zebra\n")
    zebra = StimulusSet.from_csv(listing).write(tmp_path / "zebra")
    with pytest.raises(
        ModelError, match=r"category 'zebra' is not one the mapping 'imagenet-16' can answer"
    ):
        observer.run(zebra, progress=False)


def test_respond_answers_from_pixels(observer):
    stimuli = stimulus_set("silhouette")
    pixels = np.stack([stimuli.load(s) for s in stimuli.manifest.stimulus[:4]])
    responses, scores = observer.respond(pixels)
    assert len(responses) == 4 and scores.shape == (4, 16)
    assert responses == [observer.mapping.categories[i] for i in scores.argmax(axis=1)]
