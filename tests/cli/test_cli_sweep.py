"""``psychoalign sweep``: the units of ``psychoalign evaluate`` on a local cluster."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from psychoalign.cli import app
from psychoalign.datasets import stimulus_set

runner = CliRunner()


def _tiny(name, folder):
    full = stimulus_set(name).subset(categories=["bear", "bird"])
    picked = list(full.manifest.stimulus[::5][:4])
    return full.subset(stimuli=picked).write(folder / name, name=name)


def test_sweep_writes_the_bytes_evaluate_writes_and_lists_a_failed_unit(tmp_path):
    sets = [_tiny("edge", tmp_path / "sets"), _tiny("silhouette", tmp_path / "sets")]
    broken = sets[0].write(tmp_path / "sets" / "broken", name="broken")
    (broken.path / broken.manifest.stimulus.iloc[0]).write_bytes(b"altered")
    stimuli = [arg for s in [*sets, broken] for arg in ("--stimuli", str(s.path))]
    args = ["--model", "efficientnet_lite0", *stimuli, "--task", "evaluate"]
    swept = runner.invoke(app, ["sweep", *args, "--workers", "2", "--out", str(tmp_path / "A")])
    assert swept.exit_code == 1, swept.output
    assert "3 units: 2 done, 0 skipped, 1 failed" in swept.output
    assert "failed: evaluate/broken/efficientnet_lite0:" in swept.output
    assert "is altered" in swept.output
    single = runner.invoke(
        app, ["evaluate", *args[:6], "--device", "cpu", "--out", str(tmp_path / "B")]
    )
    assert single.exit_code == 0, single.output
    for stimuli_set in sets:
        for name in ("trials.csv", "probabilities.csv", "run.json"):
            one = tmp_path / "A" / stimuli_set.name / "efficientnet_lite0" / name
            two = tmp_path / "B" / stimuli_set.name / "efficientnet_lite0" / name
            assert one.read_bytes() == two.read_bytes(), one
    ledger = json.loads((tmp_path / "A" / "sweep.json").read_text())
    assert [unit["status"] for unit in ledger["units"]] == ["done", "done", "failed"]


def test_sweep_refuses_bad_options_in_one_sentence_with_exit_2(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("models: [efficientnet_lite0]\nstimuli: [edge]\nout: x\ntask: {}\n")
    cases = [
        (["sweep", "--stimuli", "edge", "--out", str(tmp_path)], "options: models must be"),
        (
            ["sweep", "--model", "a", "--stimuli", "edge", "--task", "evalute"],
            "task 'evalute' is not a sweep task; did you mean 'evaluate'?",
        ),
        (
            ["sweep", "--model", "a", "--stimuli", "edge", "--task", "activations"],
            "--task activations: give the layers with --layer.",
        ),
        (["sweep", str(plan)], "'task' is not a sweep plan setting; did you mean 'tasks'?"),
        (
            ["sweep", str(plan), "--model", "a"],
            "drop --model, --stimuli, --task, --layer, --method and --out, or the plan.",
        ),
    ]
    for args, sentence in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert sentence in " ".join(result.output.split()), (args, result.output)


def test_options_replace_a_plans_cluster_and_a_finished_sweep_starts_none(tmp_path):
    from distributed import LocalCluster

    tiny = _tiny("edge", tmp_path / "sets")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"models: [efficientnet_lite0]\nstimuli: ['{tiny.path}']\nout: '{tmp_path / 'A'}'\n"
        "tasks: {evaluate: {}}\ncluster: {kind: slurm, workers: 3}\n"
    )
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp"
    ) as cluster:
        address = cluster.scheduler_address
        ran = runner.invoke(app, ["sweep", str(plan), "--scheduler", address])
    assert ran.exit_code == 0, ran.output
    assert "1 units: 1 done, 0 skipped, 0 failed" in ran.output
    ledger = json.loads((tmp_path / "A" / "sweep.json").read_text())
    assert (ledger["cluster"], ledger["workers"]) == (address, 3)
    # The scheduler is gone: a sweep whose units are all current must not need it (nor SLURM).
    again = runner.invoke(app, ["sweep", str(plan), "--scheduler", address, "--workers", "2"])
    assert again.exit_code == 0, again.output
    assert "1 units: 0 done, 1 skipped, 0 failed" in again.output
    ledger = json.loads((tmp_path / "A" / "sweep.json").read_text())
    assert (ledger["cluster"], ledger["workers"]) == (address, 2)
    report = runner.invoke(app, ["report", str(tmp_path / "A"), "--out", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "r.html").read_text()
    assert "Sweep units (psychoalign sweep)" in page and "Model run (psychoalign evaluate)" in page
    assert "evaluate/edge/efficientnet_lite0" in page
    refused = runner.invoke(app, ["sweep", str(plan), "--workers", "0"])
    assert refused.exit_code == 2
    assert "cluster.workers" in refused.output
