"""Sweeps: models x stimulus sets x tasks as Dask tasks, resumable, with a ledger of every unit.

:func:`sweep` runs the units of a :class:`~psychoalign.workflows.sweep_plan.SweepPlan`
on a Dask cluster (:func:`~psychoalign.workflows._clusters.open_client`). Each unit is the
cached, atomic, content-keyed unit of the single command (``evaluate`` writes exactly
what ``psychoalign evaluate`` writes), so a unit whose output is current is skipped
before it is submitted, on every rerun, and a sweep killed entirely resumes where it
stopped. A worker killed mid-unit loses only that unit's hidden staging folder: Dask
runs the unit again on another worker. A unit that fails is recorded with its
one-sentence error while the others finish.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from psychoalign._io import check_output_folder, os_error_sentence, write_text_atomic
from psychoalign._progress import progress_bar
from psychoalign.errors import PsychoalignError
from psychoalign.workflows.sweep_plan import SweepPlan, SweepUnit

if TYPE_CHECKING:
    import distributed

__all__ = ["SWEEP_LEDGER", "SWEEP_TABLE", "SweepResult", "sweep"]

#: The ledger of a sweep, in its ``out`` folder.
SWEEP_LEDGER = "sweep.json"
#: The same units as a table (written when the sweep ends), for the report.
SWEEP_TABLE = "sweep_units.csv"
#: Columns of :attr:`SweepResult.units` (and fields of each ledger entry).
LEDGER_COLUMNS = (
    "key",
    "task",
    "model",
    "stimuli",
    "layer",
    "method",
    "chunk",
    "worker",
    "start",
    "duration",
    "status",
    "error",
)
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did.

    Attributes
    ----------
    units
        One row per unit, in plan order: ``key, task, model, stimuli, layer, method,
        chunk, worker, start, duration, status, error`` (``status`` is ``done``,
        ``skipped`` or ``failed``; ``error`` the failed unit's one sentence).
    ledger
        The ``sweep.json`` file holding the same rows.
    """

    units: pd.DataFrame
    ledger: Path

    @property
    def failed(self) -> pd.DataFrame:
        """The failed units' ``key`` and ``error``."""
        return self.units.loc[self.units.status == FAILED, ["key", "error"]]


def _now() -> str:
    return _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="milliseconds")


def _sentence(error: BaseException, out: Path) -> str:
    """A failure as one sentence: psychoalign's own, an OS error's, else type and message."""
    if isinstance(error, PsychoalignError):
        return str(error)
    if isinstance(error, OSError):
        return os_error_sentence(error, out)
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else 'no message'}"


def _record(unit: SweepUnit, **fields: Any) -> dict[str, Any]:
    """A ledger entry of ``unit`` (the fields not given are None)."""
    chunk = None if unit.chunk is None else list(unit.chunk)
    entry = {"key": unit.key, "task": unit.task, "model": unit.model, "stimuli": unit.stimuli}
    entry |= {"layer": unit.layer, "method": unit.method, "chunk": chunk}
    return {column: entry.get(column, fields.get(column)) for column in LEDGER_COLUMNS}


def run_unit(unit: SweepUnit, out: str | Path, threads: int | None = None) -> dict[str, Any]:
    """Run one sweep unit where it is called (a Dask worker); its ledger entry.

    Parameters
    ----------
    unit
        The unit.
    out
        The sweep's results folder.
    threads
        Torch intra-op threads to compute with (default: the worker's; Dask starts
        workers with one). A CPU result depends on it in the last digits, so a sweep
        passes the count a single command would use, and writes the same bytes.

    Returns
    -------
    dict
        The ledger entry: ``status`` is ``done``, ``skipped`` (current already) or
        ``failed`` with the one-sentence ``error`` of bad input or an unwritable output.
    """
    from psychoalign.workflows._sweep_units import run_task

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    start, began = _now(), time.perf_counter()
    try:
        status, error = run_task(unit, Path(out)), None
    except (PsychoalignError, OSError) as failure:
        status, error = FAILED, _sentence(failure, Path(out))
    duration = round(time.perf_counter() - began, 3)
    return _record(unit, worker=worker, start=start, duration=duration, status=status, error=error)


def _is_current(unit: SweepUnit, out: Path) -> bool:
    """Whether a unit can be skipped before submission; False when it cannot be checked."""
    from psychoalign.workflows._sweep_units import is_current

    try:
        return is_current(unit, out)
    except (PsychoalignError, OSError):  # the unit then fails on a worker, with its sentence
        return False


def _pending(plan: SweepPlan, entries: dict[str, dict[str, Any]], advance: Any) -> list[SweepUnit]:
    """The units to compute; the current ones are recorded as skipped (``advance`` each).

    Checked here, before any cluster starts; one model at a time is held in memory.
    """
    from psychoalign.workflows._sweep_units import forget_models

    pending, model = [], None
    for unit in plan.units:
        if unit.model != model:
            forget_models()
            model = unit.model
        if _is_current(unit, plan.out):
            entries[unit.key] = _record(unit, start=_now(), duration=0.0, status=SKIPPED)
            advance()
        else:
            pending.append(unit)
    forget_models()
    return pending


def _write_ledger(path: Path, plan: SweepPlan, entries: dict[str, dict[str, Any]]) -> None:
    ledger = {
        "out": str(plan.out),
        "cluster": plan.scheduler or plan.cluster,
        "workers": plan.workers,
        "units": [entries[unit.key] for unit in plan.units if unit.key in entries],
    }
    write_text_atomic(path, json.dumps(ledger, indent=2) + "\n")


@contextlib.contextmanager
def _client(plan: SweepPlan, client: distributed.Client | None) -> Iterator[distributed.Client]:
    if client is not None:
        yield client
        return
    from psychoalign.workflows._clusters import open_client

    with open_client(
        plan.cluster,
        workers=plan.workers,
        scheduler=plan.scheduler,
        resources=plan.resources,
        gpus=plan.gpus,
    ) as opened:
        yield opened


def _threads(plan: SweepPlan) -> int | None:
    """Torch threads per worker: a single command's here (local), a job's cores (queue).

    None (the workers' own) on a running scheduler, whose machines are unknown here.
    """
    if plan.scheduler is not None:
        return None
    if plan.cluster != "local":
        return plan.resources.cores if plan.resources is not None else 1
    import torch

    return torch.get_num_threads()


def _counts(entries: dict[str, dict[str, Any]], running: int) -> str:
    statuses = [entry["status"] for entry in entries.values()]
    counts = {status: statuses.count(status) for status in (DONE, FAILED, SKIPPED)}
    return (
        f"done {counts[DONE]}  running {running}  failed {counts[FAILED]}  "
        f"skipped {counts[SKIPPED]}"
    )


def _announce(client: distributed.Client, console: Console) -> None:
    from psychoalign.workflows._clusters import dashboard_address

    address = dashboard_address(client)
    if address is not None:
        console.print(f"Dask dashboard: {address}", markup=False, highlight=False)


def _run(
    plan: SweepPlan,
    client: distributed.Client | None,
    entries: dict[str, dict[str, Any]],
    ledger: Path,
    progress: bool,
) -> None:
    """Skip the current units, start the cluster, submit the others, record each as it ends."""
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with progress_bar(*columns, TimeElapsedColumn(), show=progress, console=console) as bar:
        task = bar.add_task(_counts(entries, 0), total=len(plan.units))

        def skipped() -> None:
            bar.update(task, advance=1, description=_counts(entries, 0))

        pending = _pending(plan, entries, skipped)
        if not pending:
            return
        with _client(plan, client) as opened:
            if progress:
                _announce(opened, console)
            bar.update(task, description=_counts(entries, len(pending)))
            for ended, _ in enumerate(_submit(plan, opened, pending, entries, ledger), 1):
                bar.update(task, advance=1, description=_counts(entries, len(pending) - ended))


def _submit(
    plan: SweepPlan,
    client: distributed.Client,
    pending: list[SweepUnit],
    entries: dict[str, dict[str, Any]],
    ledger: Path,
) -> Iterator[SweepUnit]:
    """Submit ``pending`` to ``client``; record each unit (and the ledger) as it ends."""
    from distributed import as_completed

    token, threads = uuid.uuid4().hex[:8], _threads(plan)
    futures = {
        client.submit(
            run_unit,
            unit,
            str(plan.out.absolute()),
            threads,
            pure=False,
            key=f"{unit.key}#{token}",
        ): unit
        for unit in pending
    }
    for future in as_completed(futures):
        unit = futures[future]
        try:
            entries[unit.key] = future.result()
        except Exception as failure:  # any failure is the unit's, recorded
            error = _sentence(failure, plan.out)
            entries[unit.key] = _record(unit, start=_now(), status=FAILED, error=error)
        _write_ledger(ledger, plan, entries)
        yield unit


def sweep(
    plan: SweepPlan, *, progress: bool = True, client: distributed.Client | None = None
) -> SweepResult:
    """Run every unit of a sweep plan on a Dask cluster, skipping the units already current.

    Parameters
    ----------
    plan
        The units and where they run (:func:`~psychoalign.workflows.sweep_plan.read_plan`,
        :func:`~psychoalign.workflows.sweep_plan.plan_from_options`).
    progress
        Show one progress bar over the units (done / running / failed / skipped) and
        print the Dask dashboard's address.
    client
        A Dask client to submit to instead of the plan's cluster (left open).

    Returns
    -------
    SweepResult
        Every unit's ledger entry; also written to ``<out>/sweep.json`` as each unit ends,
        and to ``<out>/sweep_units.csv`` when the sweep ends.

    Notes
    -----
    A unit is skipped, before submission, when its output's key (the SHA-256 of its
    inputs: model, weights, set checksum, settings, psychoalign version) matches; each
    worker checks again before computing. Failed units do not stop the sweep: they are
    in :attr:`SweepResult.failed` with their one-sentence errors.
    """
    out = check_output_folder(plan.out)
    ledger = out / SWEEP_LEDGER
    entries: dict[str, dict[str, Any]] = {}
    _run(plan, client, entries, ledger, progress)
    _write_ledger(ledger, plan, entries)
    units = pd.DataFrame([entries[unit.key] for unit in plan.units], columns=list(LEDGER_COLUMNS))
    chunks = units.chunk.map(lambda chunk: f"images-{chunk[0]}-{chunk[1]}" if chunk else "")
    write_text_atomic(out / SWEEP_TABLE, units.assign(chunk=chunks).to_csv(index=False))
    return SweepResult(units, ledger)
