"""``psychoalign metamers``: metamer stimulus sets, their grid, and their recognisability."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from psychoalign._checks import whole_number
from psychoalign.cli._common import USAGE_ERROR, console, print_note, source_set, user_errors
from psychoalign.cli.models import TrustPickle
from psychoalign.errors import ParameterError, StimulusSetError

if TYPE_CHECKING:  # the stimuli (numpy, pandas, PIL) are imported when a set is opened
    from psychoalign.stimuli import StimulusSet

__all__: list[str] = []

metamers_app = typer.Typer(
    help="Model metamers: synthesis, validation, metamer stimulus sets.",
    invoke_without_command=True,
)


@metamers_app.callback()
def metamers(
    ctx: typer.Context,
    model: Annotated[str, typer.Option(help="Model whose metamers are made.")] = (
        "efficientnet_lite0"
    ),
    layers: Annotated[
        str | None, typer.Option(help="Comma-separated layer names ('models layers' lists them).")
    ] = None,
    stimuli: Annotated[
        Path | None, typer.Option(help="Stimulus set of natural images (or a bundled name).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder of the new set.")] = None,
    steps: Annotated[int, typer.Option(help="Optimisation steps in all (over --rounds).")] = 24000,
    rounds: Annotated[int, typer.Option(help="Rounds; the step size halves after each.")] = 8,
    step_size: Annotated[float, typer.Option(help="Initial step size η₀.")] = 1.0,
    images: Annotated[
        int | None, typer.Option(help="Only N images, sampled across categories (seeded).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the initial noise, null pairs and --images sample.")
    ] = 0,
    mapping: Annotated[str, typer.Option(help="Decision mapping for validation.")] = (
        "imagenet-16"
    ),
    trust_pickle: TrustPickle = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing set at --out.")] = False,
) -> None:
    """Synthesise metamers of natural images at each layer and write a metamer stimulus set.

    The set has condition 'natural' or the layer name; validation.csv, losses.csv and
    null.csv are written beside the manifest. 'psychoalign metamers show DIR' draws it.
    """
    if ctx.invoked_subcommand is not None:
        return
    if layers is None or stimuli is None or out is None:
        console.print(
            "[bold red]error:[/] --layers, --stimuli and --out are required "
            "(or use 'psychoalign metamers show DIR' or 'psychoalign metamers "
            "recognisability TRIALS --stimuli DIR').",
            highlight=False,
        )
        raise typer.Exit(USAGE_ERROR)
    with user_errors():
        from psychoalign.workflows.metamers import make_metamer_set

        whole_number("--rounds", rounds, 1, error=ParameterError)
        if images is not None:
            whole_number("--images", images, 1, error=ParameterError)
        if steps < rounds:
            raise StimulusSetError(f"--steps: {steps} is fewer than --rounds ({rounds}).")
        if trust_pickle:
            from psychoalign.models import load_model

            model = load_model(model, trust_pickle=True)
        made, validation, _ = make_metamer_set(
            source_set(str(stimuli)),
            model,
            [layer.strip() for layer in layers.split(",") if layer.strip()],
            out,
            images=images,
            rounds=rounds,
            steps_per_round=steps // rounds,
            step_size=step_size,
            seed=seed,
            mapping=mapping,
            overwrite=overwrite,
            progress=True,
        )
    table = Table(title=f"Metamers ({made.path})")
    for column in ("layer", "metamers", "valid", "same decision", "median ρ", "null max"):
        table.add_column(column)
    for layer, rows in validation.groupby("layer", sort=False):
        table.add_row(
            str(layer),
            str(len(rows)),
            str(int(rows["valid"].sum())),
            str(int(rows["same_decision"].sum())),
            f"{rows['spearman'].median():.3f}",
            f"{rows['null_max'].max():.3f}",
        )
    Console().print(table)


@metamers_app.command("show")
def metamers_show(
    folder: Annotated[Path, typer.Argument(help="Metamer stimulus set.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Figure path (no suffix).")] = (
        None
    ),
    max_images: Annotated[int, typer.Option(help="Rows at most.")] = 8,
) -> None:
    """Draw each natural image beside its metamers, one column per layer."""
    with user_errors():
        from psychoalign.plots.metamers import metamer_grid
        from psychoalign.stimuli import valid_metamers

        metamer_set = _metamer_set(folder, ("stimulus", "model", "valid"))
        target = out or folder.parent / f"{folder.name}-grid"
        metamer_grid(
            metamer_set,
            target,
            valid=valid_metamers(metamer_set.manifest),
            max_images=max_images,
        )
    typer.echo(f"{target}.png")


@metamers_app.command("recognisability")
def metamers_recognisability(
    trials: Annotated[
        list[Path],
        typer.Argument(
            help="Trial files or folders: metamer_recognition sessions and/or "
            "'psychoalign evaluate' output on the set."
        ),
    ],
    stimuli: Annotated[Path, typer.Option(help="The metamer stimulus set the trials ran on.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "results/metamers"
    ),
    include_failed: Annotated[
        bool, typer.Option(help="Keep metamers that failed validation.")
    ] = False,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of participants.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Recognisability of each model x layer's metamers against natural images: table, figure."""
    with user_errors():
        whole_number("--n-boot", n_boot, 0, error=ParameterError)
        _metamer_set(stimuli, ("stimulus", "model"))
        from psychoalign.workflows.metamers import metamer_recognisability_analysis

        table = metamer_recognisability_analysis(
            trials, stimuli, out, include_failed=include_failed, n_boot=n_boot, seed=seed
        )
    for run in table.attrs.get("left_out_runs", []):
        print_note(f"left out {run}: not a run on {stimuli}.")
    shown = Table(title=f"Metamer recognisability ({out})")
    for column in ("metamers of", "condition", "observer", "n", "accuracy [CI]", "relative"):
        shown.add_column(column)
    for row in table.itertuples(index=False):
        shown.add_row(
            row.metamer_model,
            row.condition,
            row.group,
            str(row.n_trials),
            f"{row.accuracy:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]",
            f"{row.relative_accuracy:.3f}",
        )
    Console().print(shown)


@metamers_app.command("published")
def metamers_published(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Feather et al. (2023) ..._datamatrix_<model>_public.mat files (or folders)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    permutations: Annotated[
        int, typer.Option(help="Permutations per null distribution of each ANOVA.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 0,
) -> None:
    """Published metamer recognisability: human vs model per layer, mixed ANOVAs, figure."""
    with user_errors():
        from psychoalign.workflows.published_metamers import published_recognisability

        result = published_recognisability(
            files, out, n_permutations=permutations, seed=seed, progress=True
        )
    experiments = ", ".join(result.anova["experiment"].unique())
    shown = Table(title=f"Mixed ANOVAs, {experiments} ({out})")
    for column in ("model", "source", "df", "F", "p", "p perm.", "η²p"):
        shown.add_column(column)
    sources = {"observer_group": "group", "layer": "layer", "observer_group:layer": "group × layer"}
    for row in result.anova.itertuples(index=False):
        shown.add_row(
            row.model,
            sources[row.source],
            f"{row.df1}, {row.df2}",
            f"{row.F:.1f}",
            f"{row.p:.2g}",
            f"{row.p_permutation:.2g}",
            f"{row.partial_eta_squared:.3f}",
        )
    Console().print(shown)


def _metamer_set(folder: Path, columns: tuple[str, ...]) -> StimulusSet:
    """Open a metamer set, refusing a manifest without ``columns`` by its file and column."""
    from psychoalign.stimuli import StimulusSet

    opened = StimulusSet.open(folder)
    missing = [column for column in columns if column not in opened.manifest.columns]
    if missing:
        raise StimulusSetError(
            f"{opened.path / 'manifest.csv'}: column '{missing[0]}' is missing, so this is not "
            "a metamer set made by 'psychoalign metamers'."
        )
    return opened
