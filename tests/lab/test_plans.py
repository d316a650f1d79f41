"""Trial plans of the three paradigms on real stimulus sets, without a display."""

from __future__ import annotations

import numpy as np
import pytest

from psychoalign.datasets import stimulus_set
from psychoalign.lab.config import load_config
from psychoalign.lab.errors import LabError
from psychoalign.lab.loading import _counterbalanced, _plans, load_paradigm, plan_session
from psychoalign.stimuli import make_stimulus_set

LEVELS = ["0.00", "0.10", "0.35", "0.60"]


@pytest.fixture(scope="module")
def noise_set(tmp_path_factory):
    """Four noise levels of two real silhouette categories (20 images)."""
    source = stimulus_set("silhouette").subset(categories=["cat", "knife"])
    out = tmp_path_factory.mktemp("sets") / "noise"
    return make_stimulus_set(source, "uniform-noise", out, levels=LEVELS, progress=False)


def test_noise_degraded_shows_each_image_once_and_every_level_across_participants(noise_set):
    module, config = load_paradigm("noise_degraded"), load_config("noise_degraded")
    plans = [module.plan(noise_set, config, index, np.random.default_rng(0)) for index in range(4)]
    for plan in plans:
        assert len(plan) == 20 and len({trial["image"] for trial in plan}) == 20
        # a Latin square: within one participant the levels are balanced too
        assert sorted(trial["condition"] for trial in plan) == sorted(LEVELS * 5)
    for image in {trial["image"] for trial in plans[0]}:
        seen = [next(t["condition"] for t in plan if t["image"] == image) for plan in plans]
        assert sorted(seen) == LEVELS  # four participants: this image at every level


def test_noise_degraded_blocks_start_with_a_fixation(noise_set):
    module = load_paradigm("noise_degraded")
    config = {**load_config("noise_degraded"), "block_size": 8}
    plan = module.plan(noise_set, config, 0, np.random.default_rng(1))
    assert [t["block"] for t in plan] == [1] * 8 + [2] * 8 + [3] * 4
    assert [i for i, t in enumerate(plan) if t["first_in_block"]] == [0, 8, 16]


def test_the_plan_depends_only_on_the_seed(noise_set):
    module, config = load_paradigm("noise_degraded"), load_config("noise_degraded")
    first = module.plan(noise_set, config, 3, np.random.default_rng(42))
    assert first == module.plan(noise_set, config, 3, np.random.default_rng(42))
    assert first != module.plan(noise_set, config, 3, np.random.default_rng(43))


def test_practice_is_drawn_apart_from_the_trials(noise_set):
    module, config = load_paradigm("noise_degraded"), load_config("noise_degraded")
    trials, practice, images = _plans(
        module, noise_set, {**config, "practice_trials": 4}, 0, seed=5
    )
    assert len(trials) == 16 and len(practice) == 4 and len(images) == 4
    assert {t["image"] for t in practice} == set(images)
    assert not {t["image"] for t in trials} & set(images)


def test_metamer_recognition_interleaves_conditions_and_adds_catch_trials(noise_set):
    module = load_paradigm("metamer_recognition")
    config = {**load_config("metamer_recognition"), "catch_every": 6, "catch_condition": "0.00"}
    plan = module.plan(noise_set, config, 0, np.random.default_rng(0))
    main = [t for t in plan if t["trial_type"] == "main"]
    catch = [t for t in plan if t["trial_type"] == "catch"]
    assert len(main) == 80 and len(catch) == 80 // 6
    assert sorted(t["stimulus"] for t in main) == sorted(noise_set.manifest.stimulus)
    assert {t["condition"] for t in catch} == {"0.00"}
    assert [i for i, t in enumerate(plan) if t["trial_type"] == "catch"] == [
        7 * k - 1 for k in range(1, 14)
    ]
    # interleaved: the first 20 main trials are not all of one condition
    assert len({t["condition"] for t in main[:20]}) > 1


def test_rapid_categorization_needs_a_key_for_every_category():
    module, config = load_paradigm("rapid_categorization"), load_config("rapid_categorization")
    animals = stimulus_set("silhouette").relabel(config["stimuli"]["relabel"]["categories"])
    plan = module.plan(animals, config, 0, np.random.default_rng(0))
    assert len(plan) == len(animals) and {t["category"] for t in plan} == {"animal", "non-animal"}
    assert all(0 <= t["fixation_fraction"] < 1 for t in plan)
    with pytest.raises(LabError) as refused:
        module.plan(stimulus_set("silhouette"), config, 0, np.random.default_rng(0))
    assert str(refused.value) == (
        "response.keys: category 'airplane' of stimulus set 'silhouette' has no key."
    )


def test_counterbalancing_rotates_with_the_participant_number():
    config = load_config("rapid_categorization")
    chosen = [_counterbalanced(config, index) for index in range(4)]
    assert [variant for _, variant in chosen] == [0, 1, 0, 1]
    assert chosen[1][0]["response"]["keys"] == {"animal": "j", "non-animal": "f"}
    assert chosen[2][0]["response"]["keys"] == {"animal": "f", "non-animal": "j"}
    assert chosen[1][0]["response"]["type"] == "keys"  # merged, not replaced


def test_a_session_plan_is_the_counterbalanced_seeded_plan(noise_set):
    module, config = load_paradigm("noise_degraded"), load_config("noise_degraded")
    config = {**config, "practice_trials": 3, "seed": 17}
    planned = plan_session("noise_degraded", module, config, noise_set, participant="02", session=1)
    assert planned.seed == 17 and planned.variant is None
    assert (planned.trials, planned.practice, planned.practice_images) == _plans(
        module, noise_set, config, 2, seed=17
    )
    resumed = plan_session(
        "noise_degraded",
        module,
        config,
        noise_set,
        participant="02",
        session=1,
        recorded={"plan": planned.trials[:2]},
    )
    assert resumed.trials == planned.trials[:2] and resumed.practice == []


def test_the_seed_comes_from_paradigm_participant_and_session():
    from psychoalign.lab.loading import _seed

    first = _seed({}, "noise_degraded", "01", 1)
    assert first == _seed({}, "noise_degraded", "01", 1)
    assert first != _seed({}, "noise_degraded", "01", 2)
    assert _seed({"seed": 5}, "noise_degraded", "01", 1) == 5
