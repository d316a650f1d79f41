"""``psychoalign compare``: compare the observers of trial files and write the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psychoalign._checks import whole_number
from psychoalign.cli._common import console, print_note, progress_bar, user_errors
from psychoalign.errors import ParameterError

__all__: list[str] = []


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
    columns: Annotated[
        str | None,
        typer.Option(
            help="Which file column holds each trial column, for files in another layout "
            "(PsychoPy Builder output): 'response=key_resp.keys,rt=key_resp.rt,...', a "
            "YAML file of such pairs, or a preset ('psychopy-keyboard', 'psychopy-mouse')."
        ),
    ] = None,
    response_column: Annotated[
        str | None,
        typer.Option(
            help="Score observers by this decision column where a file has several "
            "(e.g. object_response_sums in the Geirhos et al. 2018 CNN files)."
        ),
    ] = None,
    cue_conflict: Annotated[
        list[str] | None,
        typer.Option(
            "--cue-conflict",
            help="An experiment to treat as cue-conflict (shape bias) besides those "
            "recognised from image names '<shape><n>-<texture><m>.png'; repeatable.",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Replace a non-empty --out whole: no table of an earlier run is left in it."
        ),
    ] = False,
) -> None:
    """Compare observers: accuracy, error consistency, the benchmark table and more.

    Writes accuracy.csv, error_consistency.csv and benchmark.csv (and shape_bias.csv,
    image_accuracy.csv, behavioural_consistency.csv where the data allow), each with a
    JSON sidecar of inputs, parameters and versions. What was accepted but should be
    known (a file name whose session differs from its contents, model files' NaN
    conditions read as '0') is printed as a note and recorded in the sidecars. A
    non-empty --out is refused unless --overwrite.
    """
    with user_errors():
        # The metrics (pandas, scipy) are imported here, not for --help; a typo is still
        # refused before any file is read.
        from psychoalign.metrics import PRESETS

        if preset is not None and preset not in PRESETS:
            raise ParameterError(f"--preset: '{preset}' is not one of {', '.join(PRESETS)}.")
        whole_number("--n-boot", n_boot, 0)
        whole_number("--n-splits", n_splits, 0)
        from psychoalign.workflows.compare import COMPARE_FILES_STEPS, compare_files

        with progress_bar(total=len(COMPARE_FILES_STEPS)) as step:
            result = compare_files(
                inputs,
                out,
                preset=preset,
                n_boot=n_boot,
                n_splits=n_splits,
                seed=seed,
                columns=columns,
                response_column=response_column,
                cue_conflict=cue_conflict or (),
                overwrite=overwrite,
                progress=step,
            )
        for note in result.notes:
            print_note(note)
        console.print(f"wrote {', '.join(path.name for path in result.files)} to {out}")
