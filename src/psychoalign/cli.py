"""The ``psychoalign`` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from psychoalign import __version__
from psychoalign.datasets import (
    BUNDLED_STIMULUS_SETS,
    stimulus_set,
)
from psychoalign.errors import PsychoalignError
from psychoalign.metrics import PRESETS, comparison_tables
from psychoalign.provenance import provenance, write_outputs
from psychoalign.stimuli import (
    MANIPULATIONS,
    StimulusSet,
    StimulusSetError,
    contact_sheet,
    make_stimulus_set,
)
from psychoalign.trials import (
    MODEL_VS_HUMAN_CATEGORIES,
    TrialDataError,
    find_trial_files,
    read_trials,
)

app = typer.Typer(
    name="psychoalign",
    help="Run psychophysics, run vision models on the same stimuli, compare humans and models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)
_USAGE_ERROR = 2


@contextmanager
def _user_errors() -> Iterator[None]:
    """Bad input ends the command with one sentence and exit code 2, never a traceback."""
    try:
        yield
    except PsychoalignError as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(_USAGE_ERROR) from None


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"psychoalign {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Run psychophysics, run vision models on the same stimuli, compare humans and models."""


@contextmanager
def _progress(total: int) -> Iterator[Callable[[str], None]]:
    """Show a progress bar of ``total`` named steps; call the yielded function as each starts."""
    columns = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("starting", total=total)
        started = False

        def step(description: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=description)

        yield step
        progress.update(task, description="done", completed=total)


def _compare(
    inputs: list[Path], out: Path, preset: str | None, n_boot: int, n_splits: int, seed: int
) -> dict[str, pd.DataFrame]:
    if preset is not None and preset not in PRESETS:
        raise TrialDataError(f"--preset: '{preset}' is not one of {', '.join(PRESETS)}.")
    model_vs_human = preset == "model-vs-human"
    with _progress(total=3) as step:
        step("reading trials")
        files = find_trial_files(inputs)
        trials = read_trials(
            files,
            paired=model_vs_human,
            categories=MODEL_VS_HUMAN_CATEGORIES if model_vs_human else None,
        )
        step("comparing observers")
        tables = comparison_tables(
            trials, preset=preset, n_boot=n_boot, n_splits=n_splits, seed=seed
        )
        step("writing tables")
        parameters = {"preset": preset, "n_boot": n_boot, "n_splits": n_splits, "seed": seed}
        written = write_outputs(tables, out, provenance(files, parameters))
    console.print(f"wrote {', '.join(p.name for p in written)} to {out}")
    return tables


@app.command()
def compare(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Trial files, folders of them, or glob patterns.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the result tables.")],
    preset: Annotated[
        str | None,
        typer.Option(
            help="Benchmark settings: 'model-vs-human' (16 categories, paired images, "
            "the benchmark's excluded conditions)."
        ),
    ] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for confidence intervals.")] = 0,
    n_splits: Annotated[
        int, typer.Option(help="Split halves for noise-corrected consistency.")
    ] = 100,
    seed: Annotated[int, typer.Option(help="Seed of every resampling.")] = 0,
) -> None:
    """Compare observers: accuracy, error consistency, the benchmark table and more.

    Writes accuracy.csv, error_consistency.csv and benchmark.csv (and shape_bias.csv,
    image_accuracy.csv, behavioural_consistency.csv where the data allow), each with a
    JSON sidecar of inputs, parameters and versions.
    """
    with _user_errors():
        _compare(inputs, out, preset, n_boot, n_splits, seed)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path(
        "results/demo"
    ),
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, ... (default: GPU if any).")
    ] = None,
) -> None:
    """Evaluate the bundled model on the bundled stimuli and compare it with the bundled humans.

    Makes seeded uniform-noise sets from the real edge and silhouette stimuli, runs
    EfficientNet-Lite0 on all four sets, compares it with the human observers, fits the
    statistics and writes every figure and report.html under OUT. Runs offline.
    """
    with _user_errors():
        from psychoalign.demo import run_demo, summary_table

        result = run_demo(out, device=device)
    table = Table(title="EfficientNet-Lite0 and human observers")
    for column in ("experiment", "model accuracy", "κ model-human", "κ human-human"):
        table.add_column(column, justify="left" if column == "experiment" else "right")
    for row in summary_table(result).itertuples(index=False):
        table.add_row(
            row.experiment,
            f"{row.model_accuracy:.3f}",
            "–" if pd.isna(row.model_human_kappa) else f"{row.model_human_kappa:.3f}",
            "–" if pd.isna(row.human_human_kappa) else f"{row.human_human_kappa:.3f}",
        )
    output = Console()
    output.print(table)
    output.print(f"Report: {result.report.resolve()}")
    output.print(f"Figures, tables and statistics: {result.out.resolve()}")


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="Results folder (figures, tables/, stats/).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    title: Annotated[str, typer.Option(help="Title of the report.")] = "psychoalign report",
) -> None:
    """Write one self-contained HTML report (images embedded) of a results folder."""
    with _user_errors():
        from psychoalign.report import build_report

        written = build_report(results, out, title=title)
    typer.echo(f"{written}")


@app.command()
def run(
    experiment: Annotated[
        str,
        typer.Argument(help="rapid_categorization, noise_degraded, metamer_recognition, clickme."),
    ],
    participant: Annotated[
        str | None, typer.Option(help="Participant id (asked in a dialog when left out).")
    ] = None,
    session: Annotated[int, typer.Option(help="Session number.")] = 1,
    simulate: Annotated[
        str | None, typer.Option(help="Simulated observer: random or model:<name>.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted session in the same order.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option(help="YAML file overriding the experiment's settings.")
    ] = None,
    stimuli: Annotated[
        Path | None, typer.Option(help="Stimulus set (default: the experiment's own).")
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="Data folder (files go to DATA_DIR/<experiment>/).")
    ] = Path("data"),
    trials: Annotated[
        int | None, typer.Option(help="Run only the first N trials (piloting).")
    ] = None,
    fullscreen: Annotated[
        bool, typer.Option("--fullscreen/--window", help="Full screen or a window.")
    ] = True,
    refresh_rate: Annotated[
        float | None, typer.Option(help="Declared refresh rate in Hz (default: measured).")
    ] = None,
    screenshots: Annotated[
        Path | None, typer.Option(help="Save one screenshot of each screen here.")
    ] = None,
) -> None:
    """Run a PsychoPy experiment for one participant and session.

    Data are written trial by trial to DATA_DIR/<experiment>/sub-<id>_ses-<n>_<date>.csv
    with a JSON sidecar; an existing session is never overwritten (use --resume).
    """
    with _user_errors():
        from psychoalign.lab.runner import RunOptions, run_experiment

        if participant is None:
            participant, session = _ask_participant(session)
        options = RunOptions(
            participant=participant,
            session=session,
            simulate=simulate,
            resume=resume,
            config=config,
            stimuli=stimuli,
            data_dir=data_dir,
            trials=trials,
            fullscreen=fullscreen,
            refresh_rate=refresh_rate,
            screenshots=screenshots,
        )
        path = run_experiment(experiment, options)
    typer.echo(f"{path}")


def _ask_participant(session: int) -> tuple[str, int]:
    """The PsychoPy participant dialog."""
    from psychopy import gui

    from psychoalign.lab.errors import LabError

    answers = {"participant": "", "session": session}
    dialog = gui.DlgFromDict(answers, title="psychoalign", sortKeys=False)
    if not dialog.OK or not str(answers["participant"]).strip():
        raise LabError("--participant: no participant id was given.")
    return str(answers["participant"]).strip(), int(answers["session"])


stimuli_app = typer.Typer(help="Make, verify and look at stimulus sets.", no_args_is_help=True)
app.add_typer(stimuli_app, name="stimuli")


def _source_set(source: str) -> StimulusSet:
    """Open a saved set, a plain <category>/<file> folder, a CSV listing, or a bundled set."""
    path = Path(source)
    if (path / "manifest.csv").is_file():
        return StimulusSet.open(path)
    if path.is_dir():
        return StimulusSet.from_folder(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return StimulusSet.from_csv(path)
    if source in BUNDLED_STIMULUS_SETS:
        return stimulus_set(source)
    raise StimulusSetError(
        f"{source}: is neither a stimulus set, a <category>/<file> folder, a CSV listing "
        f"nor a bundled set ({', '.join(BUNDLED_STIMULUS_SETS)})."
    )


@stimuli_app.command("make")
def stimuli_make(
    source: Annotated[
        str,
        typer.Argument(
            help="Source: stimulus set, <category>/<file> folder, CSV listing or bundled set name."
        ),
    ],
    manipulation: Annotated[
        str, typer.Option(help="Degradation (see `psychoalign stimuli manipulations`).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the new stimulus set.")],
    levels: Annotated[
        str | None,
        typer.Option(help="Comma-separated level labels (default: the manipulation's own)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
    name: Annotated[
        str | None, typer.Option(help="Name of the new set (default: folder name).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing set at --out.")] = False,
) -> None:
    """Make a stimulus set: every source image at every level of one degradation."""
    with _user_errors():
        labels = None if levels is None else [label.strip() for label in levels.split(",")]
        made = make_stimulus_set(
            _source_set(source),
            manipulation,
            out,
            levels=labels,
            seed=seed,
            name=name,
            overwrite=overwrite,
        )
    typer.echo(
        f"{made.path}: {len(made)} stimuli, {len(made.conditions)} conditions, "
        f"checksum {made.checksum}"
    )


@stimuli_app.command("verify")
def stimuli_verify(folder: Annotated[Path, typer.Argument(help="Stimulus set folder.")]) -> None:
    """Check every file of a set against its SHA-256; exit 1 listing every bad file."""
    with _user_errors():
        stimuli = StimulusSet.open(folder)
        problems = stimuli.verify()
    if len(problems):
        for problem in problems.itertuples(index=False):
            typer.echo(f"{problem.path}: {problem.problem}")
        typer.echo(f"{folder}: {len(problems)} of {len(stimuli)} stimuli are bad.", err=True)
        raise typer.Exit(1)
    typer.echo(f"{folder}: all {len(stimuli)} stimuli intact (checksum {stimuli.checksum}).")


@stimuli_app.command("show")
def stimuli_show(
    folder: Annotated[Path, typer.Argument(help="Stimulus set folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file of the contact sheet.")],
    images: Annotated[int, typer.Option(help="Number of source images (rows).")] = 8,
) -> None:
    """Draw a contact sheet (images x conditions) and the CSV of what it shows."""
    with _user_errors():
        table = contact_sheet(StimulusSet.open(folder), out, n_images=images)
    typer.echo(f"{out}: {table.row.nunique()} images x {table.column.nunique()} conditions")


@stimuli_app.command("manipulations")
def stimuli_manipulations() -> None:
    """List the degradations with their default levels and valid range."""
    table = Table(title="Degradations (Geirhos et al. 2018)")
    for column in ("name", "default levels", "valid levels"):
        table.add_column(column)
    for method in MANIPULATIONS.values():
        table.add_row(method.name, ", ".join(method.default_levels), method.valid)
    Console().print(table)


@app.command()
def evaluate(
    model: Annotated[
        list[str], typer.Option("--model", "-m", help="Model name; repeat for several.")
    ] = ["efficientnet_lite0"],  # noqa: B006 - typer reads the default, never mutates it
    stimuli: Annotated[
        list[Path], typer.Option("--stimuli", "-s", help="Stimulus set folder; repeat for several.")
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
        Path | None, typer.Option(help="Local weights file (one --model only).")
    ] = None,
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
    with _user_errors():
        if not stimuli:
            raise StimulusSetError("--stimuli: give at least one stimulus set folder.")
        from psychoalign.workflows.evaluation import evaluate as evaluate_models

        sets = [StimulusSet.open(path) for path in stimuli]
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
        )
    table = Table(title=f"Model observers ({out})")
    for column in ("model", "stimulus set", "status", "trials", "accuracy"):
        table.add_column(column, justify="right" if column in ("trials", "accuracy") else "left")
    for unit in units.itertuples(index=False):
        table.add_row(
            unit.model, unit.stimulus_set, unit.status, str(unit.n_trials), f"{unit.accuracy:.3f}"
        )
    Console().print(table)


models_app = typer.Typer(help="The model zoo.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """List the model names psychoalign can load, marking those whose weights are local."""
    with _user_errors():
        from psychoalign.models import available_models

        names = available_models()
    for name in names:
        typer.echo(name)


@models_app.command("layers")
def models_layers(
    name: Annotated[str, typer.Argument(help="Model name.")] = "efficientnet_lite0",
    weights: Annotated[str | None, typer.Option(help="Local weights file, or 'random'.")] = None,
) -> None:
    """List the layer names whose activations can be read (for features and metamers)."""
    with _user_errors():
        from psychoalign.models import layer_names, load_model

        names = layer_names(load_model(name, weights=weights, device="cpu"))
    for layer in names:
        typer.echo(layer)


clickmaps_app = typer.Typer(
    help="ClickMe maps: human maps from the clickme task, and model alignment.",
    no_args_is_help=True,
)
app.add_typer(clickmaps_app, name="clickmaps")


@clickmaps_app.command("build")
def clickmaps_build(
    trials: Annotated[list[Path], typer.Argument(help="Trial files or folders of clickme.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Maps file to write (.npz).")] = Path(
        "maps.npz"
    ),
    stimuli: Annotated[
        Path | None, typer.Option(help="Stimulus set shown (default: from the sidecars).")
    ] = None,
    min_participants: Annotated[
        int, typer.Option(help="Keep images clicked by at least this many participants.")
    ] = 1,
    min_clicks: Annotated[
        int, typer.Option(help="Count a participant on an image from this many clicks.")
    ] = 1,
    blur: Annotated[float, typer.Option(help="Disc blur diameter in px at 224 px.")] = 21,
) -> None:
    """Build human ClickMe maps (point maps, averaged, disc-blurred twice)."""
    with _user_errors():
        from psychoalign.clickme import build_clickmaps

        maps = build_clickmaps(
            trials,
            out,
            stimuli=stimuli,
            min_participants=min_participants,
            min_clicks=min_clicks,
            blur_diameter=blur,
        )
    summary = maps.summary()
    typer.echo(
        f"{out.with_suffix('.npz')}: {len(summary)} images, "
        f"{int(summary['n_participants'].max()) if len(summary) else 0} participants at most"
    )


@clickmaps_app.command("align")
def clickmaps_align(
    maps: Annotated[Path, typer.Argument(help="Maps file made by 'clickmaps build'.")],
    model: Annotated[
        list[str] | None,
        typer.Option(help="Model name, repeat for several [default: efficientnet_lite0]."),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            help="saliency, smoothgrad, integrated_gradients or occlusion, repeat for several "
            "[default: saliency]."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
        "results/clickmaps"
    ),
    n_splits: Annotated[int, typer.Option(help="Split halves for the human ceiling.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of splits, floor and bootstrap.")] = 0,
) -> None:
    """Align model feature-importance maps with the human maps: tables and figures."""
    model, method = model or ["efficientnet_lite0"], method or ["saliency"]
    with _user_errors():
        from psychoalign.clickme import align_clickmaps

        with _progress(len(model) * len(method)) as step:
            summary = align_clickmaps(
                maps, model, out, methods=method, n_splits=n_splits, seed=seed, progress=step
            )
    table = Table(title=f"ClickMe alignment ({out})")
    for column in ("model", "method", "images", "ρ", "ceiling", "floor", "score"):
        table.add_column(column)
    for row in summary.itertuples(index=False):
        table.add_row(
            row.model,
            row.method,
            str(row.n_images),
            f"{row.spearman:.3f}",
            f"{row.ceiling:.3f}",
            f"{row.floor:.3f}",
            f"{row.score:.3f}",
        )
    Console().print(table)


metamers_app = typer.Typer(
    help="Model metamers: synthesis, validation, metamer stimulus sets.",
    invoke_without_command=True,
)
app.add_typer(metamers_app, name="metamers")


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
    images: Annotated[int | None, typer.Option(help="Only the first N images.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the initial noise.")] = 0,
    mapping: Annotated[str, typer.Option(help="Decision mapping for validation.")] = (
        "imagenet-16"
    ),
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
        raise typer.Exit(_USAGE_ERROR)
    with _user_errors():
        from psychoalign.stimuli.metamers import make_metamer_set

        if steps < rounds:
            raise StimulusSetError(f"--steps: {steps} is fewer than --rounds ({rounds}).")
        made, validation, _ = make_metamer_set(
            _source_set(str(stimuli)),
            model,
            [layer.strip() for layer in layers.split(",") if layer.strip()],
            out,
            images=images,
            rounds=rounds,
            steps_per_round=steps // rounds,
            step_size=step_size,
            seed=seed,
            mapping=mapping,
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
    with _user_errors():
        from psychoalign.plots.metamers import metamer_grid

        metamer_set = StimulusSet.open(folder)
        target = out or folder.parent / f"{folder.name}-grid"
        metamer_grid(metamer_set, target, max_images=max_images)
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
    with _user_errors():
        from psychoalign.pipeline import metamer_recognisability_analysis

        table = metamer_recognisability_analysis(
            trials, stimuli, out, include_failed=include_failed, n_boot=n_boot, seed=seed
        )
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


def main() -> None:
    """Entry point of the ``psychoalign`` console script."""
    app(prog_name="psychoalign")


if __name__ == "__main__":
    sys.exit(main())
