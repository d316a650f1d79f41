"""Model files from anyone: nothing in a file runs unless the user trusts it (--trust-pickle).

A pickled model loads only with ``trust_pickle``; a malicious pickle (an object whose
``__reduce__`` creates a marker file) is never run without it, whether given as a model,
as weights, or hidden in a torch.export program; TorchScript needs no trust.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from test_zoo import _TwoWay

from psychoalign.errors import ModelError
from psychoalign.models import load_model


class _Marker:
    """Unpickling this creates ``path``: the proof that loading ran code from the file."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _labels(tmp_path: Path) -> Path:
    path = tmp_path / "labels.txt"
    path.write_text("light\ndark\n")
    return path


def test_a_pickled_model_loads_only_with_trust_pickle(tmp_path):
    saved = tmp_path / "whole.pt"
    torch.save(_TwoWay(), saved)
    with pytest.raises(ModelError) as refused:
        load_model(str(saved), labels=_labels(tmp_path), device="cpu")
    message = str(refused.value)
    assert message.startswith(f"{saved}: is a pickled model")
    assert "--trust-pickle" in message and "runs any code" in message
    loaded = load_model(str(saved), labels=_labels(tmp_path), device="cpu", trust_pickle=True)
    assert loaded.labels == ["light", "dark"] and isinstance(loaded.module, _TwoWay)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_malicious_pickle_never_runs_without_trust(tmp_path, legacy):
    marker = tmp_path / "MARKER"
    saved = tmp_path / "evil.pt"
    torch.save({"model": _Marker(marker)}, saved, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(ModelError, match="--trust-pickle"):
        load_model(str(saved), labels=_labels(tmp_path), device="cpu")
    with pytest.raises(ModelError, match="never unpickles from a weights file"):
        load_model("squeezenet1_1", weights=saved, device="cpu")
    assert not marker.exists()
    # The file does run code when trusted: the refusal above is what protected us.
    with pytest.raises(ModelError, match="holds a dict, not a model"):
        load_model(str(saved), labels=_labels(tmp_path), device="cpu", trust_pickle=True)
    assert marker.exists()


def test_torchscript_needs_no_trust(tmp_path):
    saved = tmp_path / "two.ts"
    network = _TwoWay()
    with pytest.warns(FutureWarning):  # TorchScript is deprecated, still readable
        torch.jit.save(torch.jit.script(network), str(saved))
    loaded = load_model(str(saved), labels=_labels(tmp_path), device="cpu")
    example = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(example), network(example))


def test_a_pickle_hidden_in_an_exported_program_never_runs_without_trust(tmp_path):
    network = _TwoWay()
    clean = tmp_path / "clean.pt2"
    torch.export.save(torch.export.export(network, (torch.rand(1, 3, 8, 8),)), str(clean))
    assert load_model(str(clean), labels=_labels(tmp_path), device="cpu").labels == [
        "light",
        "dark",
    ]
    # The same program with its first weight stored as a pickle that creates a marker.
    marker = tmp_path / "MARKER"
    evil_weight = tmp_path / "weight.pt"
    torch.save(_Marker(marker), evil_weight)
    evil = tmp_path / "evil.pt2"
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(evil, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("model_weights_config.json"):
                config = json.loads(data)
                for entry in config["config"].values():
                    entry["use_pickle"] = True
                data = json.dumps(config).encode()
            elif name.endswith("/weights/weight_0"):
                data = evil_weight.read_bytes()
            target.writestr(name, data)
    with pytest.raises(ModelError, match=r"holds pickled tensors or objects.*--trust-pickle"):
        load_model(str(evil), labels=_labels(tmp_path), device="cpu")
    assert not marker.exists()
    # torch.export.load itself runs it: the refusal above is what protected us.
    with pytest.raises(ModelError):
        load_model(str(evil), labels=_labels(tmp_path), device="cpu", trust_pickle=True)
    assert marker.exists()
