"""``psychoalign sweep``: models x stimulus sets x tasks on a Dask cluster, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psychoalign.cli._common import print_note, user_errors
from psychoalign.errors import ParameterError

__all__: list[str] = []

#: Exit code when the sweep ran but some units failed.
UNITS_FAILED = 1


def sweep(
    plan: Annotated[
        Path | None, typer.Argument(help="Sweep plan (YAML); or give --model, --stimuli ...")
    ] = None,
    model: Annotated[
        list[str], typer.Option("--model", "-m", help="Model name; repeat for several.")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    stimuli: Annotated[
        list[str],
        typer.Option("--stimuli", "-s", help="Stimulus set folder or name; repeat for several."),
    ] = [],  # noqa: B006
    task: Annotated[
        list[str],
        typer.Option(
            "--task",
            help="evaluate, feature_importance, activations or metamers; repeatable "
            "[default: evaluate].",
        ),
    ] = [],  # noqa: B006
    layer: Annotated[
        list[str], typer.Option("--layer", help="Layer of activations and metamers; repeatable.")
    ] = [],  # noqa: B006
    method: Annotated[
        str | None, typer.Option(help="Feature-importance method [default: saliency].")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes of a local cluster, or jobs to start [default: 1]."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="A running Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="local, slurm, pbs or sge [default: local].")
    ] = None,
    gpus: Annotated[bool, typer.Option("--gpus", help="One local worker per GPU.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Results folder.")] = None,
) -> None:
    """Run every model on every stimulus set for each task, as Dask tasks; resumable.

    Each unit (model x set x task x layer x image chunk) is the cached unit of the single
    command (evaluate writes OUT/<set>/<model>/ as `psychoalign evaluate` does) and is
    skipped while its output is current; OUT/sweep.json records every unit. Exits 1,
    listing them, when units failed. With a plan, --workers, --scheduler, --cluster and
    --gpus replace the plan's cluster settings.
    """
    with user_errors():
        from psychoalign.workflows.sweep_plan import plan_from_options, read_plan
        from psychoalign.workflows.sweeps import sweep as run_sweep

        if plan is not None:
            if model or stimuli or task or layer or method or out is not None:
                raise ParameterError(
                    f"{plan}: a sweep plan names its models, stimuli, tasks and out; drop "
                    "--model, --stimuli, --task, --layer, --method and --out, or the plan."
                )
            given = {
                "kind": cluster,
                "workers": workers,
                "scheduler": scheduler,
                "gpus": gpus or None,
            }
            sweep_plan = read_plan(plan, {k: v for k, v in given.items() if v is not None})
        else:
            sweep_plan = plan_from_options(
                model,
                stimuli,
                {name: _task_settings(name, layer, method) for name in task or ["evaluate"]},
                out if out is not None else Path("results/sweep"),
                cluster=cluster or "local",
                workers=workers if workers is not None else 1,
                scheduler=scheduler,
                gpus=gpus,
            )
        result = run_sweep(sweep_plan)
    counts = result.units.status.value_counts()
    typer.echo(
        f"{len(result.units)} units: {counts.get('done', 0)} done, "
        f"{counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed "
        f"(ledger {result.ledger})."
    )
    for failed in result.failed.itertuples(index=False):
        print_note(f"{failed.key}: {failed.error}", label="failed")
    if len(result.failed):
        raise typer.Exit(UNITS_FAILED)


def _task_settings(task: str, layers: list[str], method: str | None) -> dict[str, object]:
    """A task's settings from the options: its layers or its method."""
    if task in ("activations", "metamers"):
        if not layers:
            raise ParameterError(f"--task {task}: give the layers with --layer.")
        return {"layers": layers}
    return {"method": method or "saliency"} if task == "feature_importance" else {}
