"""Speed of batched metamer synthesis against plenoptic's Metamer, measured side by side.

Synthesises metamers of 16 bundled `edge` images at one layer of the bundled
efficientnet_lite0 on the CPU, (1) with psychoalign's `Metamer`, the 16 images in one
object, and (2) with `plenoptic.Metamer` (plenoptic 2.x), one image at a time, as its API
takes one target image. Both run the same procedure from the same noise for the same
number of steps: plenoptic gets our normalised loss as its `loss_function`, a custom
optimiser taking normalised-gradient steps with clipping to [0, 1]
(`NormalisedGradientDescent` below), `torch.optim.lr_scheduler.StepLR` halving the step
size after each round, no range penalty (`penalty_lambda=0`, clipping keeps pixels in
range) and no early stop. Its model is ours truncated at the layer behind the same
preprocessing, frozen with `plenoptic.remove_grad`. Timings include building the objects
(plenoptic's checks run the model a few times per image); the images are given to
plenoptic as usual NCHW tensors.

Prints steps per second of both, their ratio (target >= 2x on the CPU) and the final
normalised losses side by side (they agree to float rounding: same procedure). The two
alternate `--repeats` times (default 5); each repeat gives a paired ratio (plenoptic's
time over ours, a few seconds apart, so that a slow spell of a shared machine hits both),
and the median of those ratios is the result, with every repeat's ratio printed. The
default 60 steps (3 rounds x 20, eta0 = 1) keep the run to about 2 minutes on 2 free
cores; the full schedule of Feather et al. (2023) is 24,000 steps. `--steps N` changes
the step count (split into 3 rounds), `--layer NAME` the layer, `--threads N` torch's CPU
threads.

On the CPU our `Metamer` runs its images one per forward/backward pass (`CPU_BATCH_SIZE`):
a convolution costs the same per image in any batch there, and larger batches only leave
the cache (and, beyond 32 MiB, glibc's mmap threshold). Its speed over plenoptic comes
from channels-last pixels (our images are (n, h, w, 3) already), batch norms folded into
the convolutions, and a lean loop; on a GPU the 16 images go through the network in one
pass.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("TQDM_DISABLE", "1")  # plenoptic's progress bar, before it is imported

import numpy as np
import torch

from psychoalign.datasets import stimulus_set
from psychoalign.models import ModelObserver, load_model
from psychoalign.models.features import feature_extractor
from psychoalign.synthesis import Metamer


class LayerModel(torch.nn.Module):
    """Our model as plenoptic wants it: pixels (n, 3, h, w) to the layer's activations."""

    def __init__(self, model, layer: str):
        super().__init__()
        self.extractor = feature_extractor(model, [layer])
        self.observer = ModelObserver(model, size_handling="whole")
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.extractor(self.observer.prepare_tensor(x))[self.layer]


class NormalisedGradientDescent(torch.optim.Optimizer):
    """x <- clip(x - lr * g / ||g||, 0, 1), the norm over each image's pixels."""

    def __init__(self, params, lr: float = 1.0):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        for group in self.param_groups:
            for pixels in group["params"]:
                gradient = pixels.grad
                dims = tuple(range(1, gradient.ndim))
                length = torch.linalg.vector_norm(gradient, dim=dims, keepdim=True)
                pixels.addcdiv_(gradient, length.clamp_min(1e-30), value=-group["lr"])
                pixels.clamp_(0.0, 1.0)
        return loss


def normalised_loss(synthesised: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(synthesised - reference) / torch.linalg.vector_norm(reference)


def plenoptic_metamers(model, layer, images, initial, rounds, steps_per_round, step_size):
    import plenoptic as po

    network = LayerModel(model, layer).eval()
    po.remove_grad(network)
    finals = []
    for image, start in zip(images, initial, strict=True):
        target = torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()
        metamer = po.Metamer(target, network, loss_function=normalised_loss, penalty_lambda=0.0)
        metamer.setup(
            torch.from_numpy(start).permute(2, 0, 1)[None].contiguous(),
            optimizer=NormalisedGradientDescent,
            optimizer_kwargs={"lr": step_size},
            scheduler=torch.optim.lr_scheduler.StepLR,
            scheduler_kwargs={"step_size": steps_per_round, "gamma": 0.5},
        )
        metamer.synthesize(max_iter=rounds * steps_per_round, stop_criterion=-1.0)
        with torch.no_grad():
            finals.append(normalised_loss(network(metamer.metamer), metamer.target_representation))
    return np.array([float(loss) for loss in finals])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="_blocks.1")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    arguments = parser.parse_args()
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    rounds, step_size = 3, 1.0
    steps_per_round = max(1, arguments.steps // rounds)
    total = rounds * steps_per_round
    model = load_model("efficientnet_lite0", device="cpu")
    edge = stimulus_set("edge")
    names = edge.manifest.stimulus.iloc[::10].tolist()  # 16 images, one per category
    images = np.stack([edge.load(name) for name in names]).astype(np.float32)

    ratios, ours_times, theirs_times = [], [], []
    for _ in range(arguments.repeats):  # alternated: a slow spell of the machine hits both
        start = time.perf_counter()
        ours = Metamer(model, arguments.layer, images, seed=0, device="cpu")
        ours.synthesize(rounds, steps_per_round, step_size, progress=False)
        ours_times.append(time.perf_counter() - start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # plenoptic's notes on shapes
            start = time.perf_counter()
            theirs = plenoptic_metamers(
                model, arguments.layer, images, ours.initial, rounds, steps_per_round, step_size
            )
            theirs_times.append(time.perf_counter() - start)
        ratios.append(theirs_times[-1] / ours_times[-1])

    ours_rate, theirs_rate = total / np.median(ours_times), total / np.median(theirs_times)
    print(
        f"metamers, 16 images x {total} steps at {arguments.layer} of efficientnet_lite0 "
        f"(CPU, {torch.get_num_threads()} threads, {arguments.repeats} alternating repeats): "
        f"batched Metamer {ours_rate:.2f} steps/s vs plenoptic one image at a time "
        f"{theirs_rate:.2f} steps/s (medians) = {np.median(ratios):.2f}x "
        f"(median of the paired ratios; each repeat: "
        f"{', '.join(f'{ratio:.2f}' for ratio in ratios)})",
        flush=True,
    )
    print("final normalised loss per image (ours | plenoptic):")
    for name, a, b in zip(names, ours.final_loss, theirs, strict=True):
        print(f"  {name:28s} {a:.5f} | {b:.5f}")
    difference = np.abs(ours.final_loss - theirs).max()
    print(
        f"  largest difference {difference:.2e}; means {ours.final_loss.mean():.5f} | "
        f"{theirs.mean():.5f}"
    )


if __name__ == "__main__":
    main()
