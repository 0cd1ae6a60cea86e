"""What the loop commands do, between parsing their arguments and exiting."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer

from ftsweep.cli.progress import counted_costing
from ftsweep.errors import DamagedStudyError, OutputError
from ftsweep.io import atomic_output
from ftsweep.study import (
    AskedTrial,
    SweepStudy,
    TellReport,
    best_records,
    import_jobs,
    importances,
    read_results_files,
    tell,
)
from ftsweep.sweep import load_sweep

if TYPE_CHECKING:
    from ftsweep.data.cost import Costing
    from ftsweep.sweep.load import Sweep

__all__ = [
    "ask_command",
    "best_command",
    "import_command",
    "importance_command",
    "tell_command",
    "trials_command",
]


@contextlib.contextmanager
def opened_study(
    path: Path, storage: str | None, *, priced: bool = False, prices: Path | None = None
) -> Iterator[SweepStudy]:
    """The sweep's study, its damage errors naming this sweep's way out, with the costing that
    prices its jobs' actual cost. `priced` (always, when an objective is the trial's cost):
    with the training data's size too, to estimate the trials it hands out, keep them within
    the budget and price the `cost` objective."""
    sweep = load_sweep(path)
    if priced or sweep.costs:
        costing = counted_costing(sweep, prices)
    else:
        costing = _prices_only(sweep, prices)
    try:
        with SweepStudy(sweep, storage, costing) as study:
            yield study
    except DamagedStudyError as exc:  # the way out names this sweep and its storage option
        where = f"{path} --storage {storage}" if storage else str(path)
        raise exc.naming(where) from None


#: The exit code of an `ask` that handed out nothing (max_trials reached, space used up).
NOTHING_TO_HAND_OUT = 3
_KEYS_SHOWN = 8  # a batch's keys listed one by one up to this many; first and last beyond


def ask_command(
    path: Path, n: int, *, output: Path | None, storage: str | None, prices: Path | None = None
) -> None:
    opened = opened_study(path, storage, priced=True, prices=prices)
    with opened as study, study.asking(n, output=output) as batch:
        # Written even when empty: a batch file left from an earlier ask must never be taken
        # for this one and submitted again.
        _write_batch(batch, output)
    where = f" to {output}" if output else ""
    if not batch:
        why = batch.shortfall.reason if batch.shortfall else "nothing to hand out"
        typer.echo(f"{study.name}: no trial handed out{where}: {why}", err=True)
        raise typer.Exit(NOTHING_TO_HAND_OUT)
    short = f" of {n} asked for ({batch.shortfall.reason})" if batch.shortfall else ""
    typer.echo(f"{study.name}: {len(batch)} trial(s){short}{where}: {_keys(batch)}", err=True)


def _keys(batch: list[AskedTrial]) -> str:
    if len(batch) <= _KEYS_SHOWN:
        return ", ".join(a.key for a in batch)
    return f"{batch[0].key} ... {batch[-1].key}"


def _write_batch(asked: list[AskedTrial], output: Path | None) -> None:
    lines = b"".join(orjson.dumps(a.body, option=orjson.OPT_APPEND_NEWLINE) for a in asked)
    if output is None:
        sys.stdout.buffer.write(lines)
        sys.stdout.buffer.flush()  # in the batch: trials that never reached stdout are discarded
        return
    with atomic_output(output) as stream:
        stream.write(lines)


def _print_tell(report: TellReport, sweep: str) -> None:
    from ftsweep.study.feedback import unknown_row

    for result in report.unknown:
        typer.echo(unknown_row(result, sweep), err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    failed = f" ({report.failed} failed)" if report.failed else ""
    typer.echo(
        f"{sweep}: {report.finished} finished{failed}, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.superseded} replaced, "
        f"{len(report.unknown)} row(s) naming no trial",
        err=True,
    )


def tell_command(
    path: Path, files: list[Path], *, trial: str | None, force: bool, storage: str | None
) -> None:
    ref: int | str | None = int(trial) if trial and trial.isdigit() else trial
    with opened_study(path, storage) as study:
        results = read_results_files(files, study.sweep.objectives, trial=ref)
        _print_tell(tell(study, results, force=force), study.name)


def import_command(path: Path, files: list[Path], *, force: bool, storage: str | None) -> None:
    with opened_study(path, storage) as study:
        results = read_results_files(files, study.sweep.objectives)
        report = import_jobs(study, results, force=force)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"{study.name}: {report.imported} job(s) imported, {report.existing} already in the study",
        err=True,
    )
    if report.told is not None:
        _print_tell(report.told, study.name)


def trials_command(
    path: Path,
    format: str,
    *,
    output: Path | None,
    storage: str | None,
    wide: bool = False,
    limit: int | None = None,
    every: bool = False,
    prices: Path | None = None,
) -> None:
    if format == "parquet" and output is None:
        raise OutputError("parquet is binary: write it to a file with -o FILE")
    if every and limit is not None:
        raise OutputError("give --limit or --all, not both")
    with opened_study(path, storage, prices=prices) as study:
        _show_trials(study, format, output, wide, _trials_limit(format, output, limit, every))


def _prices_only(sweep: Sweep, prices: Path | None) -> Costing:
    """A costing that prices finished jobs (their actual cost) and estimates nothing, so
    reading the trials counts no tokens."""
    from ftsweep.data.cost import Costing
    from ftsweep.data.prices import price_table

    return Costing(sweep, None, price_table(sweep, prices))


def _trials_limit(format: str, output: Path | None, limit: int | None, every: bool) -> int | None:
    """How many of the last trials to show: --limit, or a table's on a terminal; None: all."""
    from ftsweep.cli.loop import TABLE_TRIALS
    from ftsweep.cli.render import on_terminal

    if limit is not None or every or format != "table" or output is not None:
        return limit
    return TABLE_TRIALS if on_terminal() else None


def _show_trials(
    study: SweepStudy, format: str, output: Path | None, wide: bool, limit: int | None
) -> None:
    from ftsweep.study.table import trial_records

    records = trial_records(study)
    _note_not_shown(records.not_shown)
    shown = records[-limit:] if limit is not None else records
    if format == "table":
        from ftsweep.cli.render import trials_table
        from ftsweep.study.table import PRUNE_COLUMNS

        pruning = [name for name, _ in PRUNE_COLUMNS]  # empty ones are left out
        columns = ["key", "state", *_shown_columns(study, shown)[1:], *pruning]
        columns += ["job_status", "error"]
        left_out = len(records) - len(shown)
        trials_table(
            shown, list(dict.fromkeys(columns)), study.name, output, wide=wide, left_out=left_out
        )
        return
    from ftsweep.study.export import write_trials

    if output is None:
        write_trials(study.sweep, shown, format, sys.stdout.buffer)
        return
    with atomic_output(output) as stream:
        write_trials(study.sweep, shown, format, stream)
    typer.echo(f"wrote {len(shown):,} trials to {output}", err=True)


def _note_not_shown(numbers: list[int]) -> None:
    from ftsweep.study.table import not_shown_note

    note = not_shown_note(numbers)
    if note is not None:
        typer.echo(f"note: {note}", err=True)


def best_command(path: Path, *, storage: str | None, wide: bool = False) -> None:
    from ftsweep.cli.render import records_table

    with opened_study(path, storage) as study:
        records = best_records(study)
        _note_not_shown(records.not_shown)
        title = "best trial" if len(study.sweep.objectives) == 1 else "Pareto front"
        columns = _shown_columns(study, records)
    records_table(records, columns, f"{study.name}: {title}", None, wide=wide)


def _shown_columns(study: SweepStudy, records: list[dict[str, Any]]) -> list[str]:
    wanted = ["key", *study.sweep.space.names, *(o.metric for o in study.sweep.objectives)]
    wanted += ["job_id", "fine_tuned_model", "trained_tokens", "estimated_cost", "actual_cost"]
    return [c for c in dict.fromkeys(wanted) if any(r.get(c) is not None for r in records)]


def importance_command(path: Path, *, storage: str | None) -> None:
    from ftsweep.cli.render import importance_table

    with opened_study(path, storage) as study:
        found = importances(study)
    _note_not_shown(found.not_shown)
    importance_table(found, study.name)
