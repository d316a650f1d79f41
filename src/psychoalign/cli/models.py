"""``psychoalign evaluate`` and ``psychoalign models``: model observers and the model zoo.

Every command that takes a model takes ``--trust-pickle`` (:data:`TrustPickle`): a model
file made by ``torch.save(model)`` is a pickle, and loading a pickle runs the code it
holds, so such a file is refused without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from psychoalign._checks import whole_number
from psychoalign.cli._common import saved_set, user_errors
from psychoalign.errors import ParameterError, StimulusSetError

__all__: list[str] = []

models_app = typer.Typer(help="The model zoo.", no_args_is_help=True)

#: ``--trust-pickle``, on every command that takes a model.
TrustPickle = Annotated[
    bool,
    typer.Option(
        "--trust-pickle",
        help="Load a model file made by torch.save(model): a pickle, which runs any code it "
        "holds, so only for files you trust (TorchScript and .pt2 files need no trust).",
    ),
]
#: ``--labels``: the output labels of a model file.
Labels = Annotated[Path | None, typer.Option(help="Output labels of a model file, one per line.")]


def evaluate(
    model: Annotated[
        list[str], typer.Option("--model", "-m", help="Model name; repeat for several.")
    ] = ["efficientnet_lite0"],  # noqa: B006 - typer reads the default, never mutates it
    stimuli: Annotated[
        list[Path],
        typer.Option(
            "--stimuli",
            "-s",
            help="Stimulus set folder, or a bundled or fetched set's name; repeat for several.",
        ),
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder.")] = Path(
        "results/models"
    ),
    mapping: Annotated[
        str,
        typer.Option(
            help="Decision mapping: imagenet-16, imagenet-16-sum, animal, identity or a file."
        ),
    ] = "imagenet-16",
    weights: Annotated[
        str | None, typer.Option(help="Local weights file, or 'random' (one --model only).")
    ] = None,
    labels: Labels = None,
    trust_pickle: TrustPickle = False,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 32,
    size_handling: Annotated[
        str, typer.Option(help="whole (every pixel shown) or resize-crop.")
    ] = "whole",
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, cuda:1 ... (default: GPU if any).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-run units whose output is current.")] = False,
) -> None:
    """Run model observers on stimulus sets: trial files and probabilities per model x set.

    Each model x set is written atomically to OUT/<set>/<model>/ and skipped next time
    when its output exists for the same model, weights, set checksum and mapping.
    """
    with user_errors():
        if not stimuli:
            raise StimulusSetError("--stimuli: give at least one stimulus set folder.")
        whole_number("--batch-size", batch_size, 1, error=ParameterError)
        from psychoalign.models.observer import SIZE_HANDLING
        from psychoalign.workflows.evaluation import evaluate as evaluate_models

        if size_handling not in SIZE_HANDLING:
            raise ParameterError(
                f"--size-handling: '{size_handling}' is not one of {', '.join(SIZE_HANDLING)}."
            )

        sets = [saved_set(path) for path in stimuli]
        units = evaluate_models(
            model,
            sets,
            out,
            mapping=mapping,
            weights=weights,
            batch_size=batch_size,
            size_handling=size_handling,
            device=device,
            force=force,
            labels=labels,
            trust_pickle=trust_pickle,
        )
    table = Table(title=f"Model observers ({out})")
    for column in ("model", "stimulus set", "status", "trials", "accuracy"):
        table.add_column(column, justify="right" if column in ("trials", "accuracy") else "left")
    for unit in units.itertuples(index=False):
        table.add_row(
            unit.model, unit.stimulus_set, unit.status, str(unit.n_trials), f"{unit.accuracy:.3f}"
        )
    Console().print(table)


@models_app.command("list")
def models_list(
    local: Annotated[
        bool, typer.Option("--local", help="Only models whose weights are on this machine.")
    ] = False,
) -> None:
    """List the model names psychoalign can load, marking those whose weights are local.

    Weights are 'bundled' (efficientnet_lite0), 'cached' (in the torch hub cache,
    $TORCH_HOME/hub/checkpoints, or the Hugging Face cache) or 'not downloaded'
    (psychoalign never downloads). Nothing is loaded and the network is not used.
    """
    with user_errors():
        from psychoalign.models import WEIGHTS_MISSING, weights_availability

        marks = weights_availability()
    width = max(map(len, marks), default=0)
    for name, mark in marks.items():
        if not (local and mark == WEIGHTS_MISSING):
            typer.echo(f"{name:<{width}}  weights: {mark}")


@models_app.command("layers")
def models_layers(
    name: Annotated[str, typer.Argument(help="Model name.")] = "efficientnet_lite0",
    weights: Annotated[str | None, typer.Option(help="Local weights file, or 'random'.")] = None,
    labels: Labels = None,
    trust_pickle: TrustPickle = False,
) -> None:
    """List the layer names whose activations can be read (for features and metamers)."""
    with user_errors():
        from psychoalign.models import layer_names, load_model

        model = load_model(
            name, weights=weights, labels=labels, device="cpu", trust_pickle=trust_pickle
        )
        names = layer_names(model)
    for layer in names:
        typer.echo(layer)
