"""Sweeps on a real local Dask cluster: the single commands' outputs, resumed, faults survived."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from distributed import Client, LocalCluster

from psychoalign.datasets import stimulus_set
from psychoalign.models import ModelObserver, activations, feature_importance
from psychoalign.stimuli import StimulusSet
from psychoalign.workflows import (
    SweepPlanError,
    evaluate,
    make_metamer_set,
    plan_from_options,
    read_plan,
    sweep,
)
from psychoalign.workflows.sweeps import run_unit

EVALUATE_FILES = ("trials.csv", "probabilities.csv", "run.json")


def _tiny(name, folder, n=4):
    full = stimulus_set(name).subset(categories=["bear", "bird"])
    picked = list(full.manifest.stimulus[:: len(full) // n][:n])
    return full.subset(stimuli=picked).write(folder / name, name=name)


@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sets")
    return [_tiny("edge", folder), _tiny("silhouette", folder)]


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as opened,
    ):
        yield opened


@pytest.fixture(scope="module")
def serial(tiny_sets, tmp_path_factory):
    """What ``evaluate`` writes for the tiny sets, in this process."""
    out = tmp_path_factory.mktemp("serial")
    evaluate(["efficientnet_lite0"], tiny_sets, out, device="cpu", progress=False)
    return out


def _evaluate_plan(sets, out):
    return plan_from_options(["efficientnet_lite0"], [s.path for s in sets], ["evaluate"], out)


def _assert_same_as_evaluate(sets, swept, single):
    for stimuli in sets:
        for name in EVALUATE_FILES:
            one = swept / stimuli.name / "efficientnet_lite0" / name
            two = single / stimuli.name / "efficientnet_lite0" / name
            assert one.read_bytes() == two.read_bytes(), one


def test_a_sweep_writes_what_evaluate_writes_and_a_rerun_skips_every_unit(
    tmp_path, tiny_sets, client, serial
):
    result = sweep(_evaluate_plan(tiny_sets, tmp_path / "swept"), client=client, progress=False)
    assert result.units.status.tolist() == ["done", "done"]
    assert result.units.key.tolist() == [
        "evaluate/edge/efficientnet_lite0",
        "evaluate/silhouette/efficientnet_lite0",
    ]
    _assert_same_as_evaluate(tiny_sets, tmp_path / "swept", serial)
    again = sweep(_evaluate_plan(tiny_sets, tmp_path / "swept"), client=client, progress=False)
    ledger = json.loads((tmp_path / "swept" / "sweep.json").read_text())
    assert [unit["status"] for unit in ledger["units"]] == ["skipped", "skipped"]
    assert again.units.status.tolist() == ["skipped", "skipped"] and again.failed.empty
    first = ledger["units"][0]
    assert set(first) >= {"key", "worker", "start", "duration", "status", "error"}


def _kill_a_busy_worker(opened: Client, killed: list[str]) -> None:
    """SIGKILL the process of the first worker seen computing a unit."""
    pids = opened.run(os.getpid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = [worker for worker, keys in opened.processing().items() if keys]
        if busy:
            killed.append(busy[0])
            os.kill(pids[busy[0]], signal.SIGKILL)
            return
        time.sleep(0.02)


def test_a_worker_killed_mid_unit_and_the_sweep_still_matches_a_serial_run(
    tmp_path, tiny_sets, client, serial
):
    killed: list[str] = []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(client, killed))
    killer.start()
    result = sweep(_evaluate_plan(tiny_sets, tmp_path / "swept"), client=client, progress=False)
    killer.join()
    assert len(killed) == 1
    assert result.units.status.tolist() == ["done", "done"]
    assert killed[0] not in result.units.worker.tolist()  # its unit ran again elsewhere
    _assert_same_as_evaluate(tiny_sets, tmp_path / "swept", serial)
    assert not [path for path in (tmp_path / "swept").rglob(".*")]  # no staging left


def test_a_failing_unit_is_listed_with_its_sentence_and_the_others_finish(
    tmp_path, tiny_sets, client
):
    broken = tiny_sets[0].write(tmp_path / "broken", name="broken")
    first = broken.manifest.stimulus.iloc[0]
    (broken.path / first).write_bytes(b"not the image the manifest lists")
    plan = _evaluate_plan([broken, tiny_sets[1]], tmp_path / "out")
    result = sweep(plan, client=client, progress=False)
    assert result.units.status.tolist() == ["failed", "done"]
    assert result.failed.key.tolist() == ["evaluate/broken/efficientnet_lite0"]
    error = result.failed.error.iloc[0]
    assert error.startswith(str(broken.path / first)) and "is altered" in error
    assert "\n" not in error and error.endswith(".")
    ledger = json.loads(result.ledger.read_text())
    assert ledger["units"][0]["error"] == error
    assert (tmp_path / "out" / "silhouette" / "efficientnet_lite0" / "trials.csv").is_file()


def test_an_activations_unit_holds_the_layers_activations_and_is_skipped_after(
    tmp_path, tiny_sets, client, lite0
):
    plan = plan_from_options(
        ["efficientnet_lite0"],
        [tiny_sets[0].path],
        {"activations": {"layers": ["_blocks.1"]}},
        tmp_path,
    )
    assert sweep(plan, client=client, progress=False).units.status.tolist() == ["done"]
    saved = np.load(
        tmp_path / "activations" / "edge" / "efficientnet_lite0" / "_blocks.1" / "activations.npz"
    )
    observer = ModelObserver(lite0, "imagenet-16")
    images = np.stack([tiny_sets[0].load(s) for s in tiny_sets[0].manifest.stimulus])
    expected = activations(observer, images, ["_blocks.1"])["_blocks.1"]
    assert saved["stimulus"].tolist() == tiny_sets[0].manifest.stimulus.tolist()
    np.testing.assert_allclose(saved["values"], expected, rtol=1e-5, atol=1e-6)
    assert sweep(plan, client=client, progress=False).units.status.tolist() == ["skipped"]


def test_importance_and_metamer_units_hold_what_the_single_functions_make(
    tmp_path, tiny_sets, lite0
):
    edge = tiny_sets[0]
    metamers = {"layers": ["_blocks.1"], "images": 2, "rounds": 1, "steps_per_round": 2}
    tasks = {
        "feature_importance": {"method": "saliency"},
        "metamers": {**metamers, "null_pairs": 2},
    }
    plan = plan_from_options(["efficientnet_lite0"], [edge.path], tasks, tmp_path / "out")
    assert [run_unit(unit, plan.out)["status"] for unit in plan.units] == ["done"] * 2
    assert [run_unit(unit, plan.out)["status"] for unit in plan.units] == ["skipped"] * 2
    maps = np.load(tmp_path / "out/feature_importance/edge/efficientnet_lite0/saliency/maps.npz")
    images = np.stack([edge.load(s) for s in edge.manifest.stimulus])
    expected = feature_importance(
        ModelObserver(lite0, "imagenet-16"), images, edge.manifest.category
    )
    np.testing.assert_allclose(maps["values"], expected, rtol=1e-5, atol=1e-7)
    chunk = StimulusSet.open(tmp_path / "out/metamers/edge/efficientnet_lite0/_blocks.1/images-0-2")
    assert chunk.name == "edge-efficientnet_lite0-_blocks.1-images-0-2" and chunk.verify().empty
    alone = make_metamer_set(
        edge.subset(stimuli=list(edge.manifest.stimulus[:2])),
        lite0,
        ["_blocks.1"],
        tmp_path / "alone",
        rounds=1,
        steps_per_round=2,
        null_pairs=2,
        progress=False,
    )[0]
    for name in ("manifest.csv", "validation.csv", "losses.csv", "null.csv"):
        assert (chunk.path / name).read_bytes() == (alone.path / name).read_bytes(), name


# --- plan files ---------------------------------------------------------------------------


def _plan_file(tmp_path, text):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_a_plan_file_gives_one_unit_per_model_set_task_layer_and_chunk(tmp_path, tiny_sets):
    path = _plan_file(
        tmp_path,
        f"""
out: {tmp_path / "out"}
models: [efficientnet_lite0]
stimuli: [{tiny_sets[0].path}]
tasks:
  evaluate: {{}}
  feature_importance: {{method: occlusion}}
  metamers: {{layers: [_blocks.1, _blocks.3], images: 4, chunk_size: 2, rounds: 1}}
cluster: {{kind: slurm, workers: 3, resources: {{cores: 4, memory: 8GiB, queue: gpu}}}}
""",
    )
    plan = read_plan(path)
    assert [unit.key for unit in plan.units] == [
        "evaluate/edge/efficientnet_lite0",
        "feature_importance/edge/efficientnet_lite0/occlusion",
        "metamers/edge/efficientnet_lite0/_blocks.1/images-0-2",
        "metamers/edge/efficientnet_lite0/_blocks.1/images-2-4",
        "metamers/edge/efficientnet_lite0/_blocks.3/images-0-2",
        "metamers/edge/efficientnet_lite0/_blocks.3/images-2-4",
    ]
    assert plan.units[2].options == {"rounds": 1}
    assert (plan.cluster, plan.workers) == ("slurm", 3)
    assert (plan.resources.cores, plan.resources.memory, plan.resources.queue) == (4, "8GiB", "gpu")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        (
            "modles: [a]\n",
            r"plan.yaml: 'modles' is not a sweep plan setting; did you mean 'models'\?",
        ),
        (
            "models: [a]\nstimuli: [b]\nout: c\ntasks: {metamers: {layers: [x], chunk_sise: 2}}\n",
            r"'tasks.metamers.chunk_sise' is not a sweep plan setting; did you mean 'chunk_size'\?",
        ),
        (
            "models: [a]\nstimuli: [b]\nout: c\ntasks: {evalute: {}}\n",
            r"task 'evalute' is not a sweep task; did you mean 'evaluate'\?",
        ),
        (
            "models: [a]\nstimuli: [b]\nout: c\ntasks: {evaluate: {}}\ncluster: {kind: lsf}\n",
            r"cluster kind 'lsf' is not one of local, slurm, pbs, sge\.",
        ),
        (
            "models: [a]\nstimuli: [b]\nout: c\ntasks: {evaluate: {}}\n"
            "cluster: {resources: {memory: lots}}\n",
            r"plan.yaml: cluster.resources.memory: 'lots' is not a size",
        ),
        ("models: [a\n", r"plan.yaml: is not valid YAML \(line 2\)\."),
        ("models: []\nstimuli: [b]\nout: c\ntasks: {evaluate: {}}\n", r"models must be a name"),
    ],
)
def test_a_bad_plan_file_is_refused_in_one_sentence(tmp_path, text, sentence):
    with pytest.raises(SweepPlanError, match=sentence):
        read_plan(_plan_file(tmp_path, text))


def test_a_plans_batch_size_is_kept_and_the_cpu_gets_the_commands_default():
    from psychoalign.models import load_model
    from psychoalign.workflows._sweep_units import CPU_BATCH_SIZE, batch_size
    from psychoalign.workflows.sweep_plan import SweepUnit

    model = load_model("efficientnet_lite0", device="cpu")
    assert batch_size(SweepUnit("evaluate", "efficientnet_lite0", "edge"), model) == 32
    assert CPU_BATCH_SIZE == 32  # evaluate's own default, so a CPU sweep batches as it does
    unit = SweepUnit("evaluate", "efficientnet_lite0", "edge", options={"batch_size": 7})
    assert batch_size(unit, model) == 7
