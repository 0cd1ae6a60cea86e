"""What the service commands do, between parsing their arguments and exiting.

Progress goes to stderr: a live table (one line per job: trial, status, elapsed, metric) when
stderr is a terminal, one plain line per look at the service otherwise; a line for each trial
pruned, as it is pruned, and the trained tokens (and money) pruning saved at the end. Ctrl-C
while waiting stops the command and loses nothing: every job and result is stored as soon as
it is known.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ftsweep.cli.loop_actions import NOTHING_TO_HAND_OUT, opened_study

if TYPE_CHECKING:
    from ftsweep.provider.backend import Backend
    from ftsweep.provider.connect import Provider
    from ftsweep.provider.prune import PrunedTrial
    from ftsweep.provider.submit import SubmitReport
    from ftsweep.provider.sync import JobView, SyncReport
    from ftsweep.study.sweep_study import SweepStudy
    from ftsweep.sweep.spec import Service

__all__ = ["cancel_command", "run_command", "submit_command", "sync_command"]

#: The exit code of a command stopped by Ctrl-C.
INTERRUPTED = 130


def _say(line: str) -> None:
    typer.echo(line, err=True)


@contextlib.contextmanager
def _backend(study: SweepStudy, service: Service) -> Iterator[Backend]:
    """The sweep's backend, closed when the command is done with it."""
    from ftsweep.provider.connect import connect

    folder = Path(study.sweep.file).parent
    backend = connect(service, base=folder, method=study.sweep.method)
    try:
        yield backend
    finally:
        backend.close()


@contextlib.contextmanager
def _interruptible(name: str) -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        _say(
            f"{name}: stopped; jobs on the service keep running and nothing is lost "
            "(run the command again, or `ftsweep sync`, to carry on)"
        )
        raise typer.Exit(INTERRUPTED) from None


def submit_command(
    path: Path,
    batch: Path | None,
    n: int | None,
    *,
    parallel: int | None,
    provider: Provider | None,
    storage: str | None,
    prices: Path | None = None,
) -> None:
    from ftsweep.provider.submit import submit

    opened = opened_study(path, storage, priced=True, prices=prices)
    with opened as study, _interruptible(study.name):
        service = study.sweep.spec.service.overridden(provider, parallel)
        with _backend(study, service) as backend:
            report = submit(
                study, backend, count=n, batch=batch, parallel=service.jobs_at_once(), say=_say
            )
    _print_submit(study.name, report)
    if report.refused:
        raise typer.Exit(1)
    if n is not None and not report.submitted:
        raise typer.Exit(NOTHING_TO_HAND_OUT)


def _print_submit(name: str, report: SubmitReport) -> None:
    for note in report.notes:
        _say(f"note: {note}")
    for key, why in report.skipped:
        _say(f"{key}: skipped, {why}")
    parts = [
        f"{len(report.created)} job(s) created",
        f"{len(report.found)} found already on the service",
        f"{len(report.refused)} refused",
        f"{len(report.skipped)} skipped",
    ]
    short = f" ({report.shortfall.reason})" if report.shortfall else ""
    asked = f"; {report.asked} new trial(s) asked{short}" if report.asked or short else ""
    _say(f"{name}: {', '.join(parts)}{asked}")


def sync_command(
    path: Path,
    *,
    wait: bool,
    interval: float | None,
    prune: bool = False,
    provider: Provider | None,
    storage: str | None,
) -> None:
    from ftsweep.provider.sync import sync, watch

    opened = opened_study(path, storage, priced=prune)  # priced: what pruning saves
    pruned: list[PrunedTrial] = []
    with opened as study, _interruptible(study.name):
        service = study.sweep.spec.service.overridden(provider, None)
        pause = interval or service.polling()
        with _backend(study, service) as backend, _view(study, pruned) as show:
            if wait:
                report = watch(study, backend, interval=pause, on_sync=show, prune=prune)
            else:
                report = sync(study, backend, prune=prune)
                show(report)
    _print_sync(study.name, report, pruned)


def _print_sync(name: str, report: SyncReport, pruned: list[PrunedTrial]) -> None:
    for note in report.notes:
        _say(f"note: {note}")
    if report.hopeless:
        keys = ", ".join(report.hopeless)
        _say(f"note: judged hopeless, left running: {keys} (`ftsweep sync --prune` stops them)")
    told = report.told
    failed = f" ({told.failed} failed)" if told.failed else ""
    _say(
        f"{name}: {len(report.jobs)} job(s) seen, {report.running} running; "
        f"{told.finished} trial(s) finished{failed}, {told.updated} updated"
        f"{f', {len(pruned)} pruned' if pruned else ''}"
        f"{f'; {report.curves} curve(s) stored' if report.curves else ''}"
    )
    if pruned:
        _say(_saved(name, pruned))


def _pruned_line(trial: PrunedTrial) -> str:
    """One pruned trial: where it stopped and what that saves."""
    where = trial.pruned
    saved = _tokens_and_money(where.saved_tokens, where.saved_cost)
    return (
        f"{trial.key}: pruned at step {where.step:,} ({where.progress:,} examples trained), "
        f"value {where.value:.6g}; saves {saved}"
    )


def _saved(name: str, pruned: list[PrunedTrial]) -> str:
    """What pruning saved in all (estimated; some pruned jobs may have no estimate)."""
    facts = [p.pruned for p in pruned]
    tokens = sum(f.saved_tokens or 0 for f in facts)
    costs = [f.saved_cost for f in facts]
    cost = sum(c for c in costs if c is not None) if any(c is not None for c in costs) else None
    unknown = sum(1 for f in facts if f.saved_tokens is None)
    left = f"; {unknown} without an estimate" if unknown else ""
    saved = _tokens_and_money(tokens if unknown < len(facts) else None, cost)
    return f"{name}: {len(pruned)} trial(s) pruned, saving {saved}{left}"


def _tokens_and_money(tokens: int | None, cost: float | None) -> str:
    from ftsweep.data.cost import money

    if tokens is None:
        return "an unknown number of trained tokens (no local training data to estimate from)"
    price = f" (${money(cost)})" if cost is not None else ""
    return f"~{tokens:,} trained tokens{price}"


def cancel_command(
    path: Path, keys: list[str], all_: bool, *, provider: Provider | None, storage: str | None
) -> None:
    from ftsweep.errors import StudyError
    from ftsweep.provider.run import cancel

    if bool(keys) == all_:
        raise StudyError("name the trials whose jobs to cancel, or give --all (not both)")
    with opened_study(path, storage) as study:
        service = study.sweep.spec.service.overridden(provider, None)
        with _backend(study, service) as backend:
            report = cancel(study, backend, keys)
    for key, job_id, status in report.cancelled:
        _say(f"{key}: {job_id} {status}")
    for key in report.not_running:
        _say(f"{key}: no running job")
    for key, why in report.refused:
        _say(f"{key}: not cancelled: {why} (`ftsweep sync` records its state)")
    _say(f"{study.name}: {len(report.cancelled)} job(s) cancelled")


def run_command(
    path: Path,
    *,
    parallel: int | None,
    interval: float | None,
    provider: Provider | None,
    storage: str | None,
    prices: Path | None = None,
) -> None:
    from ftsweep.provider.run import run

    opened = opened_study(path, storage, priced=True, prices=prices)
    with opened as study, _interruptible(study.name):
        service = study.sweep.spec.service.overridden(provider, parallel)
        with _backend(study, service) as backend, _view(study, []) as show:
            report = run(
                study,
                backend,
                parallel=service.jobs_at_once(),
                interval=interval or service.polling(),
                on_sync=show,
                on_submit=_print_refused,
            )
    _say(
        f"{study.name}: done ({report.ended}); {report.submitted} job(s) submitted, "
        f"{report.refused} refused, in {report.rounds} round(s)"
    )
    if report.pruned:
        _say(_saved(study.name, report.pruned))


def _print_refused(report: SubmitReport) -> None:
    for key, why in report.refused:
        _say(f"{key}: refused: {why}")


# -- progress ------------------------------------------------------------------------------


@contextlib.contextmanager
def _view(study: SweepStudy, pruned: list[PrunedTrial]) -> Iterator[Callable[[SyncReport], None]]:
    """A callable that shows each sync: a live table on a terminal, plain lines otherwise; and
    a line for each trial it pruned, which it adds to `pruned`."""
    metric = study.sweep.objectives[0].metric
    if not sys.stderr.isatty():

        def plain(report: SyncReport) -> None:
            _say(_line(study.name, report))
            for trial in report.pruned:
                _say(_pruned_line(trial))
            pruned.extend(report.pruned)

        yield plain
        return
    from rich.console import Console
    from rich.live import Live

    with Live(console=Console(stderr=True), refresh_per_second=2, transient=False) as live:

        def table(report: SyncReport) -> None:
            for trial in report.pruned:  # above the table, which stays at the bottom
                live.console.print(_pruned_line(trial), markup=False, highlight=False)
            pruned.extend(report.pruned)
            live.update(_table(study.name, report, metric))

        yield table


def _line(name: str, report: SyncReport, detail: bool = True) -> str:
    """One look at the sweep: its jobs by status, then (`detail`) how far each running job that
    says so has got."""
    counts = Counter(job.status for job in report.jobs)
    parts = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    line = f"{time.strftime('%H:%M:%S')} {name}: {parts or 'no job in flight'}"
    going = [f"{job.key} {_step(job)}{_latest(job, ' ')}" for job in report.jobs if job.step]
    if detail and going:
        line += "; " + ", ".join(going[:4]) + (f" and {len(going) - 4} more" if going[4:] else "")
    return line


def _step(job: JobView) -> str:
    if job.step is None:
        return ""
    return f"step {job.step}" + (f"/{job.total_steps}" if job.total_steps else "")


def _latest(job: JobView, lead: str = "") -> str:
    return f"{lead}{job.latest[0]} {job.latest[1]:.4g}" if job.latest else ""


def _table(name: str, report: SyncReport, metric: str) -> Any:
    from rich.table import Table

    table = Table(title=_line(name, report, detail=False), title_justify="left")
    for column in ("trial", "status", "elapsed", "step", metric):
        table.add_column(column)
    for job in report.jobs:
        value = f"{job.values[0]:.6g}" if job.values else _latest(job)
        table.add_row(job.key, job.status, _elapsed(job), _step(job), value)
    return table


def _elapsed(job: JobView) -> str:
    if job.created_at is None:
        return ""
    seconds = int((job.finished_at or time.time()) - job.created_at)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
