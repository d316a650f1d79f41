"""analysis/reproduce_model_vs_human.py: its 'all datasets' figures compare matched data."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from psychoalign.datasets import load_model_vs_human
from psychoalign.metrics import benchmark
from psychoalign.trials import write_trials

SCRIPT = Path(__file__).parents[1] / "analysis" / "reproduce_model_vs_human.py"


def test_all_datasets_uses_only_the_datasets_the_model_ran_on(tmp_path, monkeypatch, capsys):
    humans = load_model_vs_human(["edge", "silhouette"])
    copycat = humans[(humans.observer == "subject-01") & (humans.experiment == "edge")]
    copycat = copycat.assign(observer="copycat", observer_kind="model")
    write_trials(copycat, tmp_path / "copycat.csv")
    spec = importlib.util.spec_from_file_location("reproduce_model_vs_human", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    arguments = [str(tmp_path / "copycat.csv"), "--datasets", "edge", "silhouette"]
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *arguments, "--out", str(tmp_path / "out")])
    script.main()
    assert "on the 1 of 2 datasets the models were run on: edge" in capsys.readouterr().out
    figures = tmp_path / "out" / "figures"
    written = pd.read_csv(figures / "consistency_vs_accuracy.csv").set_index("observer")
    edge = benchmark(pd.concat([humans, copycat])).query("experiment == 'edge'")
    expected = edge.set_index("observer").error_consistency
    assert written.consistency.to_dict() == pytest.approx(expected.loc[written.index].to_dict())
    assert "datasets the models were run on: edge" in (figures / "benchmark_table.svg").read_text()
