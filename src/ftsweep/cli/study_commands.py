"""What the study commands do, between parsing their arguments and exiting."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import typer

from ftsweep.errors import OutputError
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
    trials_frame,
)
from ftsweep.study.export import write_frame
from ftsweep.sweep import load_sweep

__all__ = [
    "ask_command",
    "best_command",
    "import_command",
    "importance_command",
    "tell_command",
    "trials_command",
]


@contextlib.contextmanager
def _study(path: Path, storage: str | None) -> Iterator[SweepStudy]:
    with SweepStudy(load_sweep(path), storage) as study:
        yield study


def ask_command(path: Path, n: int, *, output: Path | None, storage: str | None) -> None:
    with _study(path, storage) as study, study.asking(n) as asked:
        if asked:  # an empty batch leaves an earlier, maybe unsubmitted, -o file alone
            _write_batch(asked, output)
    if not asked:
        limit = study.sweep.spec.max_trials
        why = f"max_trials ({limit}) reached" if limit else "no configuration left to try"
        typer.echo(f"{study.name}: no trial handed out: {why}", err=True)
        return
    where = f" to {output}" if output else ""
    numbers = ", ".join(a.key for a in asked)
    short = f" (asked for {n})" if len(asked) < n else ""
    typer.echo(f"{study.name}: {len(asked)} trial(s){short}{where}: {numbers}", err=True)


def _write_batch(asked: list[AskedTrial], output: Path | None) -> None:
    lines = b"".join(orjson.dumps(a.body, option=orjson.OPT_APPEND_NEWLINE) for a in asked)
    if output is None:
        sys.stdout.buffer.write(lines)
        sys.stdout.buffer.flush()  # in the batch: trials that never reached stdout are discarded
        return
    with atomic_output(output) as stream:
        stream.write(lines)


def _print_tell(report: TellReport, sweep: str) -> None:
    for result in report.unknown:
        ref = result.ref
        typer.echo(
            f"{result.source}:{result.row}: names no trial of sweep {sweep!r} "
            f"({ref.kind} {ref.value})",
            err=True,
        )
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
    with _study(path, storage) as study:
        results = read_results_files(files, study.sweep.objectives, trial=ref)
        _print_tell(tell(study, results, force=force), study.name)


def import_command(path: Path, files: list[Path], *, force: bool, storage: str | None) -> None:
    with _study(path, storage) as study:
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


def trials_command(path: Path, format: str, *, output: Path | None, storage: str | None) -> None:
    if format == "parquet" and output is None:
        raise OutputError("parquet is binary: write it to a file with -o FILE")
    with _study(path, storage) as study:
        _show_trials(study, format, output)


def _show_trials(study: SweepStudy, format: str, output: Path | None) -> None:
    if format == "table":
        from ftsweep.cli.render import records_table
        from ftsweep.study.frame import trial_records

        records = trial_records(study)
        shown = ["key", "state", *_shown_columns(study, records)[1:], "job_status", "error"]
        records_table(records, list(dict.fromkeys(shown)), study.name, output)
        return
    frame = trials_frame(study)
    if output is None:
        write_frame(frame, format, sys.stdout.buffer)
        return
    with atomic_output(output) as stream:
        write_frame(frame, format, stream)
    typer.echo(f"wrote {len(frame):,} trials to {output}", err=True)


def best_command(path: Path, *, storage: str | None) -> None:
    from ftsweep.cli.render import records_table

    with _study(path, storage) as study:
        records = best_records(study)
        title = "best trial" if len(study.sweep.objectives) == 1 else "Pareto front"
        columns = _shown_columns(study, records)
    records_table(records, columns, f"{study.name}: {title}", None)


def _shown_columns(study: SweepStudy, records: list[dict[str, Any]]) -> list[str]:
    wanted = ["key", *study.sweep.space.names, *(o.metric for o in study.sweep.objectives)]
    wanted += ["job_id", "fine_tuned_model", "trained_tokens"]
    return [c for c in dict.fromkeys(wanted) if any(r.get(c) is not None for r in records)]


def importance_command(path: Path, *, storage: str | None) -> None:
    from ftsweep.cli.render import importance_table

    with _study(path, storage) as study:
        found = importances(study)
    importance_table(found, study.name)
