"""What the sweep-file commands do, between parsing their arguments and exiting."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ftsweep.cli.progress import counted_costing
from ftsweep.errors import OutputError, SweepFileError
from ftsweep.io import atomic_output
from ftsweep.sweep.load import load_sweep

if TYPE_CHECKING:
    from ftsweep.data.planned import PlanCosts
    from ftsweep.sweep.load import Sweep

__all__ = ["show_plan", "validate_files", "write_starter"]

TABLE_ROWS = 50  # rows `plan` shows in a table when no --limit is given


def write_starter(path: Path, method: str, *, force: bool) -> None:
    from ftsweep.sweep.starters import starter, starter_name

    if path.exists() and not force:
        raise OutputError(f"{path} already exists (use --force to overwrite it)")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise OutputError(f"{path}: starter sweeps are YAML; name the file *.yaml")
    with atomic_output(path) as stream:
        stream.write(starter(method, starter_name(path.stem), str(path)).encode())


def validate_files(paths: list[Path], *, verbose: bool) -> int:
    """Check each file; print problems on stderr. Returns how many files failed."""
    failed = 0
    for path in paths:
        try:
            sweep = load_sweep(path)
        except SweepFileError as exc:
            typer.echo(str(exc), err=True)
            failed += 1
            continue
        if verbose:
            size = sweep.space.size
            points = f"{size:,} configurations" if size is not None else "a continuous space"
            typer.echo(f"{path}: ok ({sweep.method}, {sweep.strategy} over {points})")
    return failed


def show_plan(
    path: Path,
    *,
    limit: int | None,
    format: str,
    output: Path | None,
    wide: bool = False,
    prices: Path | None = None,
) -> None:
    from ftsweep.sweep.export import Columns, write_plan
    from ftsweep.sweep.planning import plan

    sweep = load_sweep(path)
    costs = _plan_costs(sweep, prices)
    if format == "table":
        from ftsweep.cli.render import plan_table

        shown = plan(sweep, limit if limit is not None else TABLE_ROWS)
        total = sweep.plan_size  # the whole plan's size (None: endless), not the --limit
        totals = _totals(sweep, limit, costs) if costs is not None else None
        plan_table(shown, total=total, output=output, wide=wide, costs=costs, totals=totals)
        return
    trials = plan(sweep, limit)
    extra = Columns(costs.columns(), costs.values) if costs is not None else None
    if output is None:
        write_plan(trials, format, sys.stdout.buffer, extra)  # type: ignore[arg-type]
    else:
        with atomic_output(output) as stream:
            count = write_plan(trials, format, stream, extra)  # type: ignore[arg-type]
        typer.echo(f"wrote {count:,} trials to {output}", err=True)
    if costs is not None and costs.summary() and format == "csv":
        typer.echo(costs.summary(), err=True)


#: The most trials `plan` prices for its totals line; a bigger plan is totalled as far as this.
PRICED_AT_MOST = 100_000


def _totals(sweep: Sweep, limit: int | None, shown: PlanCosts) -> str | None:
    """The totals line of the whole plan (or of its first `limit` trials)."""
    from ftsweep.data.planned import PlanCosts
    from ftsweep.sweep.planning import plan

    costs = PlanCosts(shown.costing)  # a running total of its own, from the first trial
    bounds = [b for b in (limit, sweep.plan_size) if b is not None]
    count = min([*bounds, PRICED_AT_MOST])
    for _, params in plan(sweep, count).items():
        costs.next(params)
    summary = costs.summary()
    if summary and count == PRICED_AT_MOST and (not bounds or min(bounds) > count):
        summary = f"the first {summary}"
    return summary


def _plan_costs(sweep: Sweep, prices: Path | None) -> PlanCosts | None:
    """The plan's pricing when its training file is local (else nothing can be estimated)."""
    from ftsweep.data.planned import PlanCosts
    from ftsweep.data.sizes import local_data

    path = local_data(sweep)
    if path is None:
        if sweep.spec.budget is not None:
            typer.echo(
                f"note: {sweep.file}: the budget cannot be checked here: training_file is not a "
                "local file, so no trial can be estimated (ask refuses to go on without it)",
                err=True,
            )
        return None
    return PlanCosts(counted_costing(sweep, prices))
