"""``psychoalign run``: a PsychoPy experiment for one participant and session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psychoalign.cli._common import console, user_errors
from psychoalign.cli.models import TrustPickle
from psychoalign.errors import LabError

__all__: list[str] = []


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
    trust_pickle: TrustPickle = False,
) -> None:
    """Run a PsychoPy experiment for one participant and session.

    Data are written trial by trial to DATA_DIR/<experiment>/sub-<id>_ses-<n>_<date>.csv
    with a JSON sidecar; an existing session is never overwritten (use --resume), and a
    session runs in one process at a time. The trial file's path goes to stdout; how many
    trials were saved, and how many stimulus durations were off by more than a frame, to
    stderr.
    """
    with user_errors():
        # The lab (PsychoPy) is imported only when an experiment runs.
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
            trust_pickle=trust_pickle,
        )
        path = run_experiment(experiment, options)
        from psychoalign.lab.session import session_summary

        console.print(session_summary(path), markup=False, highlight=False, soft_wrap=True)
    typer.echo(f"{path}")


def _ask_participant(session: int) -> tuple[str, int]:
    """The PsychoPy participant dialog."""
    from psychopy import gui

    answers = {"participant": "", "session": session}
    dialog = gui.DlgFromDict(answers, title="psychoalign", sortKeys=False)
    if not dialog.OK or not str(answers["participant"]).strip():
        raise LabError("--participant: no participant id was given.")
    return str(answers["participant"]).strip(), int(answers["session"])
