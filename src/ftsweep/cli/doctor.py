"""The doctor command: check a sweep's journal file for damage, and repair it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ftsweep.cli.app import Command, SweepPath, app, reports_errors
from ftsweep.cli.loop import Storage

if TYPE_CHECKING:
    from ftsweep.study.store.doctor import JournalReport, Repair

__all__ = ["DAMAGED", "doctor"]

#: The exit code of a check that found the journal damaged (nothing was changed).
DAMAGED = 1


@app.command(cls=Command)
@reports_errors
def doctor(
    path: SweepPath,
    storage: Storage = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Drop the damage, keeping the damaged file as JOURNAL.damaged-TIMESTAMP.",
        ),
    ] = False,
) -> None:
    """Check the sweep's journal file for damage, or repair it.

    Exit 0 when it is intact (or was repaired), 1 when it is damaged. Database storages are not
    checked. Repair with no other ftsweep command running on the sweep.
    """
    from ftsweep.study.store.doctor import check_journal, repair_journal
    from ftsweep.study.store.storage import resolve_storage

    location = resolve_storage(path, storage)
    if location.path is None:
        typer.echo(f"{location.kind} storage: doctor checks journal files only")
        return
    if repair:
        _print_repair(repair_journal(location), path)
        return
    report = check_journal(location)
    _print_report(report, path)
    if not report.intact:
        raise typer.Exit(DAMAGED)


def _counts(report: JournalReport) -> str:
    return (
        f"{report.records:,} records, {report.studies:,} "
        f"stud{'y' if report.studies == 1 else 'ies'}, {report.trials:,} trials"
    )


def _print_damage(report: JournalReport) -> None:
    for damage in report.dropped:
        typer.echo(f"  line {damage.line}: {damage.reason}")


def _print_report(report: JournalReport, sweep: object) -> None:
    if report.intact:
        typer.echo(f"{report.path}: intact: {_counts(report)}")
        return
    typer.echo(f"{report.path}: damaged: {len(report.dropped)} line(s) to drop")
    _print_damage(report)
    typer.echo(f"intact: {_counts(report)}")
    typer.echo(f"repair: ftsweep doctor {sweep} --repair (the damaged file is kept beside it)")


def _print_repair(repair: Repair, sweep: object) -> None:
    report = repair.report
    if repair.kept_as is None:
        typer.echo(f"{report.path}: intact: {_counts(report)}; nothing to repair")
        return
    typer.echo(f"{report.path}: repaired: dropped {len(report.dropped)} line(s)")
    _print_damage(report)
    typer.echo(f"kept: {_counts(report)}; the damaged file is {repair.kept_as}")
